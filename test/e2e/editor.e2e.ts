// Drives the editor in headless Chromium against the demo Node-RED: palette, dialog, validation, deploy, debug, help, zh-CN.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EditorRED } from 'node-red';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT, startDemo, type DemoRun } from '../support/demo';
import { publishMany } from '../support/publisher';
import { launchChromium, openPage, screenshot } from './support/browser';
import { deploy, dropFromPalette, flowNode, openConfigDialog, openEditor, openNodeDialog, paletteNode, showSidebarTab, typeInto, wire } from './support/editor';

const TYPE = 'durable-mqtt-in';
// Nodes of the demo flow (scripts/demo.ts) this spec relies on.
const DEMO_CONSUMER = 'durable-demo-consume';
const DEMO_DEBUG = 'durable-demo-debug';
const DEMO_COUNT = 'durable-demo-tally';
const AWAY = 50;
const TOPIC = 'e2e/browser';
const ZH_LOCALE = join(REPO_ROOT, 'nodes', 'locales', 'zh-CN', 'durable-mqtt.json');

const plain = (html: string): string => html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim();

/** The first paragraph of a node's help as the runtime serves it to an editor in `lang`, as plain text. */
async function helpIntro(editor: string, type: string, lang: string): Promise<string> {
  const html = await (await fetch(`${editor}nodes`, { headers: { Accept: 'text/html', 'Accept-Language': lang } })).text();
  const help = new RegExp(`data-help-name="${type}"[^>]*>([\\s\\S]*?)</script>`).exec(html)?.[1];
  const intro = help && /<p>([\s\S]*?)<\/p>/.exec(help)?.[1];
  assert.ok(intro, `the runtime serves no help paragraph for ${type} in ${lang}`);
  return plain(intro);
}

/** Selects the node and asserts the help sidebar shows its title and the help the runtime serves in `lang`; returns that help's intro. */
async function expectHelp(page: Page, editor: string, id: string, lang: string): Promise<string> {
  const intro = await helpIntro(editor, TYPE, lang);
  await flowNode(page, id).locator('.red-ui-flow-node').click();
  await showSidebarTab(page, 'help');
  // The info tab renders help too, but it is hidden while the help tab is in front. The help
  // section nests a second .red-ui-help around the text: take the outer one, with the title.
  const help = page.locator('.red-ui-help:visible', { hasText: intro.slice(0, 20) }).first();
  await help.waitFor();
  const text = (await help.innerText()).replace(/\s+/g, ' ');
  assert.ok(text.startsWith('durable mqtt in'), `help panel title: ${text.slice(0, 40)}`);
  assert.ok(text.includes(intro), `help panel shows:\n${text}`);
  return intro;
}

describe('editor in Chromium (demo Node-RED)', function () {
  this.timeout(60_000);
  let demo: DemoRun | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  // Set once the dialog test has deployed a new consumer; later tests use it.
  let nodeId: string | undefined;

  before(async function () {
    [demo, browser] = await Promise.all([startDemo(), launchChromium()]);
    await demo.editorReady();
    ({ context, page } = await openPage(browser, 'en-US'));
    await openEditor(page, demo.editor, TYPE, DEMO_CONSUMER);
  });

  after(async function () {
    await context?.close();
    await browser?.close();
    await demo?.dispose();
  });

  function deployed(): string {
    assert.ok(nodeId, 'needs the consumer that the dialog test deploys');
    return nodeId;
  }

  it('lists "durable mqtt in" with its icon in the network category of the palette', async () => {
    const entry = page.locator('#red-ui-palette-network').locator(paletteNode(page, TYPE));
    await entry.scrollIntoViewIfNeeded();
    assert.equal((await entry.innerText()).replace(/\s+/g, ' ').trim(), 'durable mqtt in');
    const icon = await entry.locator('.red-ui-palette-icon').evaluate((e) => getComputedStyle(e).backgroundImage);
    const url = /url\("(.+)"\)/.exec(icon)?.[1];
    assert.ok(url && url.endsWith('/durable-mqtt.svg'), `palette icon is ${icon}`);
    const res = await page.request.get(url);
    assert.equal(res.status(), 200, `GET ${url}`);
    assert.match(await res.text(), /<svg[\s>]/);
  });

  it('creates a broker config from the node dialog, checking each of several URLs, marks an invalid topic filter and deploys', async () => {
    const { brokerUrl } = demo!;
    const id = await dropFromPalette(page, TYPE, { x: 120, y: 360 });
    await openNodeDialog(page, id);

    // Node-RED 4 adds a config node with the plus button; the pencil edits the selected one.
    await openConfigDialog(page, 'broker', 'add');
    const url = page.locator('#node-config-input-broker');
    // Several servers: each URL is checked, and the line below previews each in order.
    await typeInto(url, 'mqtt://a:1884 ftp://b');
    await page.locator('#node-config-input-broker.input-error').waitFor({ state: 'attached' });
    await typeInto(url, 'mqtt://a:1884, b');
    await page.locator('#node-config-input-broker:not(.input-error)').waitFor({ state: 'attached' });
    assert.match(await page.locator('#node-config-broker-hint').innerText(), /mqtt:\/\/a:1884, mqtt:\/\/b:1883/);
    await url.fill(brokerUrl);
    // A persistent session needs a client ID, so the dialog generates one.
    const clientId = (await page.locator('#node-config-input-clientId').inputValue()).trim();
    assert.notEqual(clientId, '', 'the new broker config has a generated client ID');
    await screenshot(page, 'broker-config-dialog');
    await page.locator('#node-config-dialog-ok').click();
    await url.waitFor({ state: 'detached' });
    const selected = await page.locator('#node-input-broker option:checked').innerText();
    assert.ok(selected.includes(clientId), `the new config is selected: ${selected}`);

    const topic = page.locator('#node-input-topic');
    await typeInto(topic, 'a/#');
    await page.locator('#node-input-topic:not(.input-error)').waitFor({ state: 'attached' });
    await topic.pressSequentially('/b'); // '#' must be the last level
    await page.locator('#node-input-topic.input-error').waitFor({ state: 'attached' });
    await screenshot(page, 'node-dialog-invalid-topic');
    await typeInto(topic, TOPIC);
    await page.locator('#node-input-topic:not(.input-error)').waitFor({ state: 'attached' });
    await page.locator('#node-dialog-ok').click();
    await topic.waitFor({ state: 'detached' });

    await wire(page, id, DEMO_DEBUG);
    await deploy(page);
    nodeId = id;
  });

  it('shows the green "connected" badge and puts a published message in the debug sidebar', async () => {
    const status = flowNode(page, deployed()).locator('.red-ui-flow-node-status-group');
    await status.locator('.red-ui-flow-node-status-dot-green').waitFor({ state: 'attached' });
    assert.equal(await status.locator('.red-ui-flow-node-status-label').textContent(), 'connected');
    await screenshot(page, 'deployed-flow');

    await showSidebarTab(page, 'debug');
    const payload = `hello from the browser test ${Date.now()}`;
    await publishMany(demo!.brokerUrl, TOPIC, 1, { qos: 1, payload: () => payload });
    const message = page.locator('.red-ui-debug-msg', { hasText: payload });
    await message.waitFor();
    // The header reads "<topic> : msg.payload : string[n]".
    assert.match(await message.locator('.red-ui-debug-msg-topic').innerText(), new RegExp(`^${TOPIC} : msg\\.payload : string\\[${payload.length}\\]$`));
    await screenshot(page, 'debug-sidebar');
  });

  it('shows the node help in the help sidebar', async () => {
    await expectHelp(page, demo!.editor, deployed(), 'en-US');
    await screenshot(page, 'help-sidebar');
  });

  it('labels the dialogs and shows the help in Chinese with the zh-CN browser locale', async () => {
    // Written on branch `editor`; fail loudly rather than skip while it is missing.
    assert.ok(existsSync(ZH_LOCALE), `${ZH_LOCALE} does not exist`);
    const zh = JSON.parse(readFileSync(ZH_LOCALE, 'utf8')) as Record<'durable-mqtt-in' | 'durable-mqtt-broker', { label: Record<string, string> }>;
    const { context: zhContext, page: zhPage } = await openPage(browser!, 'zh-CN');
    /** Asserts that the label of each input reads the zh-CN text of its key, and that the text is Chinese. */
    const expectLabels = async (type: keyof typeof zh, prefix: string, fields: string[]): Promise<void> => {
      for (const field of fields) {
        const expected = zh[type].label[field];
        assert.match(expected ?? '', /[\u4e00-\u9fff]/, `${type} label.${field} in ${ZH_LOCALE} is Chinese`);
        const text = (await zhPage.locator(`label[for="${prefix}-${field}"]`).innerText()).trim();
        assert.ok(text.includes(expected), `label for ${prefix}-${field} reads "${text}", expected "${expected}"`);
      }
    };
    try {
      await openEditor(zhPage, demo!.editor, TYPE, deployed());
      const intro = await expectHelp(zhPage, demo!.editor, deployed(), 'zh-CN');
      assert.match(intro, /[\u4e00-\u9fff]/, `the zh-CN help is Chinese: ${intro}`);
      await openNodeDialog(zhPage, deployed());
      await expectLabels('durable-mqtt-in', 'node-input', ['topic', 'broker']);
      await screenshot(zhPage, 'node-dialog-zh-CN');
      await openConfigDialog(zhPage, 'broker', 'edit');
      await expectLabels('durable-mqtt-broker', 'node-config-input', ['broker', 'clientId']);
      await screenshot(zhPage, 'broker-config-dialog-zh-CN');
    } finally {
      await zhContext.close();
    }
  });
  it('sets birth, close and will messages on the Messages tab of the broker dialog, checking their topics', async () => {
    await openNodeDialog(page, deployed());
    const brokerId = await page.locator('#node-input-broker').inputValue();
    await openConfigDialog(page, 'broker', 'edit');
    await page.locator('#node-config-durable-mqtt-broker-tabs').getByText('Messages').click();
    const birth = page.locator('#node-config-input-birthTopic');
    await typeInto(birth, 'e2e/state/#');
    await page.locator('#node-config-input-birthTopic.input-error').waitFor({ state: 'attached' });
    await typeInto(birth, 'e2e/state');
    await page.locator('#node-config-input-birthTopic:not(.input-error)').waitFor({ state: 'attached' });
    await page.locator('#node-config-input-birthQos').selectOption('1');
    await typeInto(page.locator('#node-config-input-willPayload'), 'gone');
    await screenshot(page, 'broker-config-messages');
    await page.locator('#node-config-dialog-ok').click();
    await birth.waitFor({ state: 'detached' });
    await page.locator('#node-dialog-ok').click();
    const saved = await page.evaluate((id) => {
      const n = (window as unknown as { RED: EditorRED }).RED.nodes.node(id) as unknown as Record<string, unknown>;
      return { birthTopic: n.birthTopic, birthQos: n.birthQos, willPayload: n.willPayload, closeTopic: n.closeTopic };
    }, brokerId);
    assert.deepEqual(saved, { birthTopic: 'e2e/state', birthQos: '1', willPayload: 'gone', closeTopic: '' });
  });

  it('converts core mqtt in and mqtt-broker nodes in place from the Edit menu action, keeping ids and wires', async () => {
    const CORE_TYPES: Record<string, string> = { 'durable-mqtt-in': 'mqtt in', 'durable-mqtt-broker': 'mqtt-broker' };
    const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'core-flow.json'), 'utf8')) as { id: string; type: string; z?: string }[];
    // Into the open tab, with core's own types, as a user's imported core flow would be.
    const tab = await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.active());
    const core = fixture.filter((n) => n.type !== 'tab').map((n) => ({ ...n, type: CORE_TYPES[n.type] ?? n.type, ...(n.z ? { z: tab } : {}) }));
    const after = await page.evaluate((nodes) => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.nodes.import(nodes, false);
      RED.view.select('');
      RED.actions.invoke('durable-mqtt:convert-core-nodes');
      const consumer = RED.nodes.node('c4b2a9e1d3f56780') as unknown as Record<string, unknown> | null;
      const broker = RED.nodes.node('e9d8c7b6a5f41230') as unknown as Record<string, unknown> | null;
      const links = RED.nodes.filterLinks({ source: consumer as never }).map((l: object) => (l as { target: { id: string } }).target.id);
      return {
        consumer: consumer && { type: consumer.type, broker: consumer.broker, datatype: consumer.datatype, version: consumer.version, valid: consumer.valid },
        broker: broker && { type: broker.type, broker: broker.broker, clientId: broker.clientId, clientid: broker.clientid, version: broker.version },
        links,
        menu: document.getElementById('menu-item-durable-mqtt-convert') !== null,
      };
    }, core);
    assert.deepEqual(after.consumer, { type: 'durable-mqtt-in', broker: 'e9d8c7b6a5f41230', datatype: 'auto', version: 2, valid: true });
    assert.deepEqual(after.broker, { type: 'durable-mqtt-broker', broker: '127.0.0.1:1883', clientId: 'nodered-sensors-01', clientid: undefined, version: 1 });
    assert.deepEqual(after.links, ['5f6e7d8c9b0a1234'], 'the wire to the file node stayed');
    assert.equal(after.menu, true, 'the Edit menu offers the action');
    await screenshot(page, 'converted-core-nodes');
  });

  it('offline delivery on the demo: Stop, publish 50, Ctrl-C, npm start — the count badge shows all 50', async () => {
    const run = demo!;
    await page.locator('#red-ui-header-button-deploy-options').click();
    await page.locator('#deploymenu-item-runtime-stop').click();
    // Our node closes as core's do: red ring "disconnected", not a stale green dot.
    const consumer = flowNode(page, DEMO_CONSUMER).locator('.red-ui-flow-node-status-group');
    await consumer.locator('.red-ui-flow-node-status-ring-red').waitFor({ state: 'attached' });
    assert.equal(await consumer.locator('.red-ui-flow-node-status-label').textContent(), 'disconnected');
    await screenshot(page, 'offline-1-stopped');

    await publishMany(run.brokerUrl, 'demo/away', AWAY, { qos: 1, payload: (i) => `away-${i}` });
    await run.restart();
    await run.editorReady();
    await run.waitFor(`${AWAY} messages after the restart`, () => new RegExp(`\\[function:count per topic\\] demo/away #${AWAY}: `).test(run.output()));

    // The editor connects after they arrived: the count badge, retained by the runtime, shows them.
    await openEditor(page, run.editor, TYPE, DEMO_CONSUMER);
    const count = flowNode(page, DEMO_COUNT).locator('.red-ui-flow-node-status-label');
    await page.waitForFunction(
      ([selector, text]) => document.querySelector(selector)?.textContent?.includes(text) ?? false,
      [`#red-ui-workspace-chart g[id="${DEMO_COUNT}"] .red-ui-flow-node-status-label`, `demo/away: ${AWAY}`] as const,
    );
    assert.match(String(await count.textContent()), new RegExp(`demo/away: ${AWAY}\\b`));
    await flowNode(page, DEMO_CONSUMER).locator('.red-ui-flow-node-status-dot-green').waitFor({ state: 'attached' });
    await screenshot(page, 'offline-2-after-restart');
  });
  it('adds the failed output once failed messages are withheld with a delivery limit, moving the status wire after it', async () => {
    type Ports = { outputs: number; links: [number, string][] };
    const ports = (): Promise<Ports> =>
      page.evaluate((id) => {
        const RED = (window as unknown as { RED: EditorRED }).RED;
        const node = RED.nodes.node(id) as unknown as { outputs: number };
        const links = RED.nodes.filterLinks({ source: node as never }).map((l: object) => {
          const link = l as { sourcePort: number; target: { id: string } };
          // The editor leaves a moved wire's port as the output map's string (as for core's switch).
          return [Number(link.sourcePort), link.target.id] as [number, string];
        });
        return { outputs: node.outputs, links: links.sort() };
      }, DEMO_CONSUMER);
    const done = async (): Promise<void> => {
      await page.locator('#node-dialog-ok').click();
      await page.locator('#node-input-topic').waitFor({ state: 'detached' });
    };
    const debug: [number, string] = [0, 'durable-demo-debug'];
    const tally: [number, string] = [0, 'durable-demo-tally'];
    // The status output on, and wired, as a user would have it before the limit existed.
    await openNodeDialog(page, DEMO_CONSUMER);
    await page.locator('#node-input-statusOutput').check();
    await done();
    await page.evaluate((id) => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.nodes.addLink({ source: RED.nodes.node(id), sourcePort: 1, target: RED.nodes.node('durable-demo-debug') });
    }, DEMO_CONSUMER);
    assert.deepEqual(await ports(), { outputs: 2, links: [debug, tally, [1, 'durable-demo-debug']] });

    await openNodeDialog(page, DEMO_CONSUMER);
    // The demo's consumer runs without a limit (maxDeliveries 0, as every node saved before the setting), and the dialog says so.
    assert.equal(await page.locator('#node-input-maxDeliveries').inputValue(), '0');
    assert.equal(await page.locator('#node-input-row-maxDeliveries').isVisible(), false, 'hidden while failed messages are acked');
    await page.locator('#node-input-ackOnError').uncheck();
    assert.equal(await page.locator('#node-input-row-maxDeliveries').isVisible(), true);
    await typeInto(page.locator('#node-input-maxDeliveries'), '3');
    await screenshot(page, 'node-dialog-max-deliveries');
    await done();
    assert.deepEqual(await ports(), { outputs: 3, links: [debug, tally, [2, 'durable-demo-debug']] }, 'failed at 1, the status wire moved to 2');

    // Back as it was: failed messages acked, no status output.
    await openNodeDialog(page, DEMO_CONSUMER);
    await page.locator('#node-input-ackOnError').check();
    await page.locator('#node-input-statusOutput').uncheck();
    await done();
    assert.deepEqual(await ports(), { outputs: 1, links: [debug, tally] });
  });

  it('applies a Shared group typed without pressing Share when the dialog is closed with Done', async () => {
    await openNodeDialog(page, DEMO_CONSUMER);
    await typeInto(page.locator('#node-input-share-group'), 'workers');
    await screenshot(page, 'node-dialog-shared-group');
    await page.locator('#node-dialog-ok').click();
    await page.locator('#node-input-topic').waitFor({ state: 'detached' });
    await openNodeDialog(page, DEMO_CONSUMER);
    assert.equal(await page.locator('#node-input-topic').inputValue(), '$share/workers/demo/#');
    await page.locator('#node-dialog-cancel').click();
  });

  // Issue 24: the editor adds `inputs` to every node it loads, which once read as the sign of a core node and turned our parsed auto into text.
  it('keeps an unversioned consumer of ours on its parsed auto when it is opened and deployed from the editor', async () => {
    const id = 'e2e-unversioned-consumer';
    await page.evaluate((node) => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.nodes.import([{ ...node, z: RED.workspaces.active() }], false);
      RED.view.select('');
    }, { id, type: TYPE, name: 'unversioned', broker: 'durable-demo-broker', topic: 'e2e/unversioned', qos: 1, datatype: 'auto', x: 420, y: 420, wires: [] });
    await openNodeDialog(page, id);
    assert.equal(await page.locator('#node-input-datatype').inputValue(), 'auto', 'the dialog shows what the runtime ran');
    await page.locator('#node-dialog-ok').click();
    await page.locator('#node-input-topic').waitFor({ state: 'detached' });
    await deploy(page);
    const flows = (await (await fetch(`${demo!.editor}flows`)).json()) as { id: string; datatype?: string; version?: number }[];
    const saved = flows.find((n) => n.id === id);
    assert.deepEqual(saved && { datatype: saved.datatype, version: saved.version }, { datatype: 'auto', version: 2 });
  });
});
