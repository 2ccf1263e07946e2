// Test helper: loads our nodes into node-red-node-test-helper and waits on what they do.
import helper from 'node-red-node-test-helper';
import type { Node, NodeMessage, NodeStatus } from 'node-red';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinonSpy } from 'sinon';
import durableMqtt from '../../nodes/durable-mqtt';
import { NODE_RED_MAIN, runtimeHooks as hooks } from './runtime';

helper.init(NODE_RED_MAIN);

export { helper };

type FlowNode = Record<string, unknown> & { id: string; type: string };

/**
 * Gives the nodes loaded from now on a `RED.settings.userDir` of `dir`, as a real runtime has (the
 * helper has none, and an out node refuses to run without one). Returns what puts the helper's
 * settings back.
 */
export function setUserDir(dir: string): () => void {
  // The helper keeps its settings in `_settings`, and `settings()` only ever merges into a copy of it.
  const internals = helper as unknown as { _settings: object };
  const saved = internals._settings;
  helper.settings({ userDir: dir });
  return () => {
    internals._settings = saved;
  };
}

/** setUserDir() for the enclosing describe, on a fresh temp dir removed after it; returns a getter for the dir. */
export function userDirForSuite(): () => string {
  let restore: (() => void) | undefined;
  let dir: string | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-userdir-'));
    restore = setUserDir(dir);
  });
  after(() => {
    restore?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('no user directory outside the describe');
    return dir;
  };
}

/** Standard test flow: a broker config node, one consumer per topic spec, each wired to a helper node. */
export function consumerFlow(brokerUrl: string, consumers: ({ id?: string; name?: string; topic: string; datatype?: string; qos?: number; statusOutput?: boolean } & Record<string, unknown>)[], broker: Record<string, unknown> = {}): FlowNode[] {
  const flow: FlowNode[] = [
    { id: 'f1', type: 'tab' },
    { id: 'b1', type: 'durable-mqtt-broker', broker: brokerUrl, clientId: 'test-client', ...broker },
  ];
  consumers.forEach((c, i) => {
    const id = c.id ?? `in${i + 1}`;
    const wires = c.statusOutput ? [[`${id}-out`], [`${id}-status`]] : [[`${id}-out`]];
    flow.push({ id, z: 'f1', type: 'durable-mqtt-in', broker: 'b1', ...c, wires });
    flow.push({ id: `${id}-out`, z: 'f1', type: 'helper' });
    if (c.statusOutput) flow.push({ id: `${id}-status`, z: 'f1', type: 'helper' });
  });
  return flow;
}

/**
 * The helper's mock runtime gives nodes no `RED.hooks`, while its flow engine runs the real hooks of
 * @node-red/util; hand nodes that same registry, as the full runtime does.
 */
function withHooks(RED: { hooks?: unknown }): void {
  RED.hooks ??= hooks;
  durableMqtt(RED as Parameters<typeof durableMqtt>[0]);
}

export async function load(flow: FlowNode[], credentials: Record<string, unknown> = {}, extra: unknown[] = []): Promise<void> {
  await helper.load([withHooks, ...extra] as Parameters<typeof helper.load>[0], flow, credentials);
}

/**
 * Deploys `flow` as helper.setFlows does, but waits up to 30 s for flows:started: the helper gives
 * the runtime only 300 ms, which a loaded machine can miss.
 */
export async function deploy(flow: FlowNode[], type: 'full' | 'nodes' | 'flows'): Promise<void> {
  const events = (helper as unknown as { _events: NodeJS.EventEmitter })._events;
  let timer: NodeJS.Timeout | undefined;
  const started = new Promise<void>((resolve, reject) => {
    events.once('flows:started', () => resolve());
    timer = setTimeout(() => reject(new Error('flows:started did not come within 30 s')), 30000);
  });
  await helper.setFlows(flow as Parameters<typeof helper.setFlows>[0], type).catch((err: Error) => {
    if (!/timeout waiting event/.test(err.message)) throw err;
  });
  await started.finally(() => clearTimeout(timer));
}

/** A node as the helper gives it: each Node method wrapped in a sinon spy. */
export type SpiedNode = Node & { [K in 'status' | 'error' | 'warn' | 'log' | 'send']: SinonSpy };

export function getNode(id: string): SpiedNode {
  const n = helper.getNode(id);
  if (!n) throw new Error(`node ${id} not found`);
  return n as SpiedNode;
}

/**
 * The arguments of every call one node made to a Node method. The helper spies on the shared
 * prototype, so a spy's lastCall may belong to another node; this filters by `this`.
 */
export function callsOf(id: string, method: 'status' | 'error' | 'warn' | 'log' | 'send'): unknown[][] {
  const node = getNode(id);
  return node[method].getCalls().filter((c) => c.thisValue === node).map((c) => c.args as unknown[]);
}

/** The last status a node set, or undefined. */
export function lastStatus(id: string): NodeStatus | undefined {
  const calls = callsOf(id, 'status');
  return calls[calls.length - 1]?.[0] as NodeStatus | undefined;
}

/** True when the node logged (error, warn or log) a message matching `pattern`. */
export function logged(id: string, method: 'error' | 'warn' | 'log', pattern: RegExp): boolean {
  return callsOf(id, method).some(([m]) => pattern.test(String(m)));
}

/** Calls `fn` with every msg a helper node receives, then completes it (done()) as a well-behaved node does. */
export function onInput(id: string, fn: (msg: NodeMessage) => void): void {
  getNode(id).on('input', (msg: NodeMessage, _send: unknown, done: () => void) => {
    fn(msg);
    done();
  });
}

/** Records every msg a helper node receives (see onInput). */
export function collect(id: string): NodeMessage[] {
  const msgs: NodeMessage[] = [];
  onInput(id, (msg) => msgs.push(msg));
  return msgs;
}

/** Records every status a node sets. */
export function statuses(id: string): NodeStatus[] {
  const seen: NodeStatus[] = [];
  // The helper re-emits every Node method call as `call:<method>`; Node's typings do not list those events.
  (getNode(id) as unknown as NodeJS.EventEmitter).on('call:status', (call: { args: [NodeStatus] }) => seen.push(call.args[0]));
  return seen;
}

