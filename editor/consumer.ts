// Edit dialog of the `durable-mqtt-in` node: the core mqtt in's fields in the same places, plus acknowledgement and shared groups.
import type { EditorNodeInstance, EditorNodeProperties } from 'node-red';
import { formValue, showDefaults, validator } from './define';
import { currentVersion } from '../nodes/common/migrations';
import { consumerMigrations } from '../nodes/consumer/migrations';
import { upgradeInPlace } from './migrate';
import { outputPorts, type Port } from '../nodes/consumer/outputs';
import { hasDeliveryLimit, parseConsumer, type ConsumerProps as SavedProps } from '../nodes/consumer/settings';
import { consumerChecks, shareFilters, sharedGroup, topicProblem, validGroup } from './validate';

interface ConsumerProps extends EditorNodeProperties {
  name: string;
  broker: string;
  topic: string;
  qos: number;
  datatype: string;
  ackMode: string;
  maxInFlight: number;
  ackTimeout: number;
  ackOnError: boolean;
  maxDeliveries: number;
  statusOutput: boolean;
  outputs: number;
  nl: boolean;
  rap: boolean;
  rh: number;
  /** 1: msg.action subscribes (core's dynamic subscription); the node then has an input. */
  inputs: 0 | 1;
  version: number;
}

type Consumer = EditorNodeInstance<ConsumerProps>;

const NS = 'durable-mqtt-in';
const field = (name: string): JQuery => $(`#node-input-${name}`);

/** Whether msg.action subscribes, as the dialog shows it now, else as stored (core's `inputs == 1`). */
const isDynamic = (node: Consumer): boolean => formValue('node-input-subscription', Number(node.inputs) === 1 ? 'dynamic' : 'static') === 'dynamic';

/** Ack mode as the dialog shows it now, else as stored. */
const ackMode = (node: Consumer): string => String(formValue('node-input-ackMode', node.ackMode || 'complete'));

/** Whether failed messages are withheld, as the dialog shows it now, else as stored (absent: acked, the runtime's default). */
const withholdsFailed = (node: Consumer): boolean => {
  const v = formValue('node-input-ackOnError', node.ackOnError ?? true);
  return v === false || v === 'false';
};

/** The delivery limit's field matters (and is checked) when failed messages are withheld: where the runtime reads it. */
const limitApplies = (node: Consumer): boolean => ackMode(node) === 'complete' && withholdsFailed(node);

type PortProps = Pick<SavedProps, 'ackMode' | 'ackOnError' | 'maxDeliveries' | 'statusOutput'>;

/** The output ports the runtime gives a node with these properties: its own parser decides (settings.ts hasDeliveryLimit). */
function portsFor(p: PortProps): Port[] {
  const parsed = parseConsumer({ id: 'probe', type: NS, name: '', z: '', topic: 'probe', version: currentVersion(consumerMigrations), ...p });
  return outputPorts({ failed: parsed.ok && hasDeliveryLimit(parsed.settings), status: String(p.statusOutput) === 'true' });
}

/** The output ports as stored, or as the open dialog would save them. */
function portsOf(node: Consumer, stored: boolean): Port[] {
  if (stored) return portsFor(node);
  return portsFor({ ackMode: ackMode(node), ackOnError: !withholdsFailed(node), maxDeliveries: String(field('maxDeliveries').val() ?? ''), statusOutput: field('statusOutput').is(':checked') });
}

/**
 * Core's way to change a node's outputs (10-switch.html): a JSON map of old port → new port ("-1"
 * removes its wires, a non-numeric key adds a port) in the hidden `outputs` field, from which the
 * editor sets the count and moves the wires, so a wire stays on the port it was drawn to.
 */
function outputMap(before: readonly Port[], after: readonly Port[]): Record<string, string> {
  const map: Record<string, string> = {};
  before.forEach((port, i) => (map[i] = String(after.indexOf(port))));
  for (const port of after) if (!before.includes(port)) map[port] = 'new';
  return map;
}

const check = (name: keyof typeof consumerChecks) => validator<ConsumerProps>(NS, (value) => consumerChecks[name](value));
/** The window and timeout apply only when acking after the flow, so they are checked only then (their rows are hidden otherwise). */
const checkWhenComplete = (name: 'maxInFlight' | 'ackTimeout') =>
  validator<ConsumerProps>(NS, function (value) {
    return ackMode(this) === 'complete' ? consumerChecks[name](value) : undefined;
  });

/** Rewrites every filter line into the group typed in the Shared group box; false when the name is invalid. */
function applyShare(): boolean {
  const group = $('#node-input-share-group');
  const name = String(group.val() ?? '').trim();
  const bad = name !== '' && !validGroup(name);
  group.toggleClass('input-error', bad);
  if (!bad) field('topic').val(shareFilters(String(field('topic').val() ?? ''), name)).trigger('change');
  return !bad;
}

/** The shared-group helper: rewrites every filter line into the group typed beside it. */
function prepareShare(node: Consumer): void {
  const group = $('#node-input-share-group');
  group.val(sharedGroup(String(field('topic').val() ?? '')));
  RED.popover.tooltip(group, node._(`${NS}.validation.share`));
  $('#node-input-share-apply').on('click', applyShare);
}

/** The MQTT 5 subscription options exist only when the chosen broker config speaks MQTT 5. */
function toggleV5Rows(): void {
  const broker = RED.nodes.node(String(field('broker').val() ?? '')) as { protocolVersion?: unknown } | null;
  $('.durable-mqtt-v5').toggle(Number(broker?.protocolVersion) === 5);
}

function prepare(this: Consumer): void {
  upgradeInPlace(this);
  showDefaults(this, 'node-input');
  field('broker').on('change', toggleV5Rows);
  toggleV5Rows();
  const showLimit = (): void => {
    $('#node-input-row-maxDeliveries').toggle(limitApplies(this));
  };
  field('ackMode')
    .on('change', () => {
      const complete = field('ackMode').val() === 'complete';
      $('.durable-mqtt-ack-complete').toggle(complete);
      $('#node-input-ack-receive-tip').toggle(!complete);
      showLimit();
    })
    .trigger('change');
  field('ackOnError').on('change', showLimit);
  showLimit();
  prepareShare(this);
  field('subscription')
    .val(Number(this.inputs) === 1 ? 'dynamic' : 'static')
    .on('change', () => {
      $('#node-input-dynamic-tip').toggle(isDynamic(this));
      // An empty filter list is valid only for a dynamic node: check it again.
      field('topic').trigger('change');
    })
    .trigger('change');
}

RED.nodes.registerType<ConsumerProps>('durable-mqtt-in', {
  category: 'network',
  color: '#cfa9cf',
  defaults: {
    name: { value: '' },
    broker: { type: 'durable-mqtt-broker', required: true, value: '' },
    topic: {
      value: '',
      validate: validator<ConsumerProps>(NS, function (value) {
        return topicProblem(value, isDynamic(this));
      }),
    },
    qos: { value: 1, validate: check('qos') },
    datatype: { value: 'auto', validate: check('datatype') },
    ackMode: { value: 'complete', validate: check('ackMode') },
    maxInFlight: { value: 1000, validate: checkWhenComplete('maxInFlight') },
    ackTimeout: { value: 30, validate: checkWhenComplete('ackTimeout') },
    ackOnError: { value: true },
    // Used once ackOnError is unticked: a message that keeps failing is then set aside, not redelivered for ever (README, "Dead letters").
    maxDeliveries: {
      value: 10,
      validate: validator<ConsumerProps>(NS, function (value) {
        return limitApplies(this) ? consumerChecks.maxDeliveries(value) : undefined;
      }),
    },
    statusOutput: { value: false },
    outputs: { value: 1 },
    nl: { value: false },
    rap: { value: false },
    rh: { value: 0, validate: check('rh') },
    inputs: { value: 0 },
    version: { value: currentVersion(consumerMigrations) },
  },
  inputs: 0,
  outputs: 1,
  icon: 'durable-mqtt.svg',
  paletteLabel: 'durable mqtt in',
  label: function () {
    return this.name || (this.topic ? this.topic.split('\n')[0] : 'durable mqtt in');
  },
  labelStyle: function () {
    return this.name ? 'node_label_italic' : '';
  },
  outputLabels: function (i) {
    return this._(`${NS}.outputs.${portsOf(this, true)[i] ?? 'messages'}`);
  },
  oneditprepare: prepare,
  oneditsave: function () {
    // A group typed without pressing Share is what the user meant: apply it rather than drop it.
    if (String($('#node-input-share-group').val() ?? '').trim() !== sharedGroup(String(field('topic').val() ?? ''))) applyShare();
    // Before the editor applies the dialog: `this` still holds the stored properties, the form the new ones.
    field('outputs').val(JSON.stringify(outputMap(portsOf(this, true), portsOf(this, false))));
    // As core's dialog: the input port exists only for msg.action.
    (this as { inputs: 0 | 1 }).inputs = isDynamic(this) ? 1 : 0;
  },
});
