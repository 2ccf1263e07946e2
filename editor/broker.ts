// Edit dialog of the `durable-mqtt-broker` config node: laid out like the core mqtt-broker's, plus what a persistent session needs.
import type { EditorNodeInstance, EditorNodeProperties } from 'node-red';
import { formValue, showDefaults, validator } from './define';
import { brokerMigrations } from '../nodes/broker/migrations';
import { currentVersion } from '../nodes/common/migrations';
import { upgradeInPlace } from './migrate';
import { brokerProblem, connectUrl, newClientId, type BrokerField } from './validate';

interface BrokerProps extends EditorNodeProperties {
  name: string;
  broker: string;
  clientId: string;
  cleanSession: boolean;
  protocolVersion: number;
  sessionExpiry: number;
  maximumPacketSize: number;
  keepalive: number;
  tls: string;
  backoffMin: number;
  backoffMax: number;
  /** With several servers in `broker`: move back to the first once it answers again. */
  returnToFirst: boolean;
  socksProxy: string;
  /** A core `http proxy` config node, as core's http request node names it, for ws:// and wss://. */
  proxy: string;
  userProps: string;
  version: number;
  // Core's names, kept so an imported core node keeps them until the migration reads them.
  clientid?: string;
  cleansession?: boolean | string;
  port?: string | number;
  usetls?: boolean | string;
}

type MessageKind = 'birth' | 'close' | 'will';
/** Birth, close and will messages under the core mqtt-broker's property names. */
type MessageProps = { [K in `${MessageKind}${'Topic' | 'Payload' | 'Qos' | 'Retain'}`]: string } & { [K in `${MessageKind}Msg`]: object };

interface BrokerCreds {
  user: string;
  password: string;
}

type Broker = EditorNodeInstance<BrokerProps & MessageProps>;

const NS = 'durable-mqtt-broker';
const field = (name: string): JQuery => $(`#node-config-input-${name}`);

/** Clean session as the dialog shows it now, else as stored. */
function cleanSession(node: Broker): boolean {
  const v = formValue('node-config-input-cleanSession', node.cleanSession);
  return v === true || v === 'true';
}

const check = (name: BrokerField) => validator<BrokerProps & MessageProps>(NS, function (value) {
  return brokerProblem(name, value, cleanSession(this));
});

/**
 * Another enabled broker config with this client ID on the same broker (a copied flow, say):
 * the broker would keep disconnecting one of the two, and their sessions would mix.
 */
function sharedClientId(node: Broker, clientId: string): boolean {
  const url = connectUrl(String(formValue('node-config-input-broker', node.broker)), false);
  let shared = false;
  RED.nodes.eachConfig((conf) => {
    const other = conf as Partial<BrokerProps> & { id: string; type: string; d?: boolean };
    shared = other.type === NS && other.id !== node.id && !other.d && other.clientId?.trim() === clientId && connectUrl(other.broker ?? '', false) === url;
    return !shared;
  });
  return shared;
}

const checkClientId = validator<BrokerProps & MessageProps>(NS, function (value) {
  const problem = brokerProblem('clientId', value, cleanSession(this));
  if (problem || value.trim() === '') return problem;
  return sharedClientId(this, value.trim()) ? { key: 'clientIdShared' } : undefined;
});

const useTls = (): JQuery => $('#node-config-usetls');

/** Whether the dialog has a TLS config node chosen ("_ADD_" is the editor's "add new" entry). */
function tlsChosen(): boolean {
  const v = String(field('tls').val() ?? '');
  return useTls().is(':checked') && v !== '' && v !== '_ADD_';
}

function createTabs(node: Broker): void {
  const tabs = RED.tabs.create({
    element: $('#node-config-durable-mqtt-broker-tabs'),
    // The editor passes the tab object; the shipped types say string.
    onchange: (tab: unknown) => {
      $('#node-config-durable-mqtt-broker-tabs-content').children().hide();
      $(`#${(tab as { id: string }).id}`).show();
    },
  });
  tabs.addTab({ id: 'durable-mqtt-broker-tab-connection', label: node._(`${NS}.tabs.connection`) }, 0);
  tabs.addTab({ id: 'durable-mqtt-broker-tab-security', label: node._(`${NS}.tabs.security`) }, 1);
  tabs.addTab({ id: 'durable-mqtt-broker-tab-messages', label: node._(`${NS}.tabs.messages`) }, 2);
}

/** Shows where the URL leads (scheme, host, port, path) while the user types it. */
function showUrlHint(node: Broker): void {
  const url = connectUrl(String(field('broker').val() ?? ''), tlsChosen());
  const hint = $('#node-config-broker-hint');
  if (!url) hint.text('');
  else hint.text(tlsChosen() ? node._(`${NS}.hint.urlTls`, { url }) : node._(`${NS}.hint.url`, { url }));
  // A URL is saved in flows.json in plain text; the Security tab's fields go to the encrypted credentials file.
  if (/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i.test(String(field('broker').val() ?? '').trim())) hint.append(document.createTextNode(` ${node._(`${NS}.hint.urlCredentials`)}`));
}

const KINDS = ['birth', 'close', 'will'] as const;

/**
 * The birth, close and will sections, one layout for all three. Node-RED fills the inputs it finds
 * before oneditprepare, so these get their values here; it reads them back by id on save. The
 * dialog opens valid or not by the stored values, which the workspace validators already checked.
 */
function messageSections(node: Broker): void {
  const box = $('#node-config-messages');
  const input = (id: string, width = '70%'): JQuery => $('<input type="text">').attr('id', `node-config-input-${id}`).css('width', width);
  const select = (id: string, values: [string, string][]): JQuery =>
    $('<select>').attr('id', `node-config-input-${id}`).append(values.map(([v, label]) => $('<option>').val(v).text(label)));
  const row = (label: string, ...content: JQuery[]): JQuery => $('<div class="form-row">').append($('<label>').text(label), ...content);
  for (const kind of KINDS) {
    box.append($('<div class="form-row">').append($('<b>').text(node._(`${NS}.messages.${kind}`))));
    box.append(row(node._(`${NS}.label.topic`), input(`${kind}Topic`).attr('placeholder', node._(`${NS}.placeholder.noMessage`))));
    box.append(
      row(
        node._(`${NS}.label.qos`),
        select(`${kind}Qos`, [['0', '0'], ['1', '1'], ['2', '2']]).css('width', '60px'),
        $('<label style="width: auto; margin-left: 20px">').text(node._(`${NS}.label.retain`)),
        select(`${kind}Retain`, [['false', node._(`${NS}.label.false`)], ['true', node._(`${NS}.label.true`)]]).css('width', '80px'),
      ),
    );
    box.append(row(node._(`${NS}.label.payload`), input(`${kind}Payload`)));
    for (const part of ['Topic', 'Qos', 'Retain', 'Payload'] as const) field(`${kind}${part}`).val(String(node[`${kind}${part}`] ?? ''));
  }
  // Node-RED binds its validation to the inputs before oneditprepare; a change on a bound one validates the whole dialog.
  box.find('input, select').on('change keyup paste', () => field('name').trigger('change'));
}

function prepare(this: Broker): void {
  upgradeInPlace(this);
  createTabs(this);
  messageSections(this);
  showDefaults(this, 'node-config-input');
  // A persistent session is found by its client ID, so a new node gets one now and keeps it.
  if (!this.clientId && !this.cleanSession) field('clientId').val(newClientId());
  const regenerate = $('#node-config-input-regenerate');
  RED.popover.tooltip(regenerate, this._(`${NS}.label.regenerate`));
  regenerate.on('click', () => field('clientId').val(newClientId()).trigger('change'));

  field('protocolVersion')
    .on('change', () => $('#node-config-row-sessionExpiry, #node-config-row-maximumPacketSize').toggle(field('protocolVersion').val() === '5'))
    .trigger('change');
  field('cleanSession')
    .on('change', () => $('#node-config-clean-warning').toggle(field('cleanSession').is(':checked')))
    .trigger('change');
  // As in the core mqtt-broker: a checkbox shows the tls-config picker, which alone would offer only "add new".
  useTls()
    .prop('checked', Boolean(this.tls))
    .on('change', () => {
      $('#node-config-row-tls').toggle(useTls().is(':checked'));
      showUrlHint(this);
    })
    .trigger('change');
  field('broker').on('input change', () => showUrlHint(this));
  field('tls').on('change', () => showUrlHint(this));
}

function save(): void {
  // The editor stores "_ADD_" as no config node.
  if (!useTls().is(':checked')) field('tls').val('_ADD_');
}

RED.nodes.registerType<BrokerProps & MessageProps, BrokerCreds>('durable-mqtt-broker', {
  category: 'config',
  defaults: {
    name: { value: '' },
    broker: { value: 'localhost', validate: check('broker') },
    clientId: { value: '', validate: checkClientId },
    cleanSession: { value: false },
    protocolVersion: { value: 4, validate: check('protocolVersion') },
    sessionExpiry: { value: 86400, validate: check('sessionExpiry') },
    maximumPacketSize: { value: 16777216, validate: check('maximumPacketSize') },
    keepalive: { value: 60, validate: check('keepalive') },
    tls: { value: '', type: 'tls-config', required: false },
    backoffMin: { value: 1, validate: check('backoffMin') },
    backoffMax: { value: 60, validate: check('backoffMax') },
    returnToFirst: { value: false },
    socksProxy: { value: '', validate: check('socksProxy') },
    proxy: { value: '', type: 'http proxy', required: false },
    userProps: { value: '', validate: check('userProps') },
    // The birth, close and will messages, with core's defaults (strings, as core's dialog saves them).
    birthTopic: { value: '', validate: check('birthTopic') },
    birthQos: { value: '0' },
    birthRetain: { value: 'false' },
    birthPayload: { value: '' },
    birthMsg: { value: {} },
    closeTopic: { value: '', validate: check('closeTopic') },
    closeQos: { value: '0' },
    closeRetain: { value: 'false' },
    closePayload: { value: '' },
    closeMsg: { value: {} },
    willTopic: { value: '', validate: check('willTopic') },
    willQos: { value: '0' },
    willRetain: { value: 'false' },
    willPayload: { value: '' },
    willMsg: { value: {} },
    version: { value: currentVersion(brokerMigrations) },
    clientid: {},
    cleansession: {},
    port: {},
    usetls: {},
  },
  credentials: { user: { type: 'text' }, password: { type: 'password' } },
  label: function () {
    return this.name || `${this.broker}${this.clientId ? ` (${this.clientId})` : ''}`;
  },
  oneditprepare: prepare,
  oneditsave: save,
});
