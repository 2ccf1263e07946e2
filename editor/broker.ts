// Edit dialog of the `durable-mqtt-broker` config node: laid out like the core mqtt-broker's, plus what a persistent session needs.
import type { EditorNodeInstance, EditorNodeProperties } from 'node-red';
import { editorDef, formValue, showDefaults, validator, type NodeDefinition } from './define';
import { brokerProblem, connectUrl, newClientId, type BrokerField } from './validate';

interface BrokerProps extends EditorNodeProperties {
  name: string;
  broker: string;
  clientId: string;
  cleanSession: boolean;
  protocolVersion: number;
  sessionExpiry: number;
  keepalive: number;
  tls: string;
  backoffMin: number;
  backoffMax: number;
}

interface BrokerCreds {
  user: string;
  password: string;
}

type Broker = EditorNodeInstance<BrokerProps>;

const NS = 'durable-mqtt-broker';
const field = (name: string): JQuery => $(`#node-config-input-${name}`);

/** Clean session as the dialog shows it now, else as stored. */
function cleanSession(node: Broker): boolean {
  const v = formValue('node-config-input-cleanSession', node.cleanSession);
  return v === true || v === 'true';
}

const check = (name: BrokerField) => validator<BrokerProps>(NS, function (value) {
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

const checkClientId = validator<BrokerProps>(NS, function (value) {
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

function prepare(this: Broker): void {
  createTabs(this);
  showDefaults(this, definition, 'node-config-input');
  // A persistent session is found by its client ID, so a new node gets one now and keeps it.
  if (!this.clientId && !this.cleanSession) field('clientId').val(newClientId());
  const regenerate = $('#node-config-input-regenerate');
  RED.popover.tooltip(regenerate, this._(`${NS}.label.regenerate`));
  regenerate.on('click', () => field('clientId').val(newClientId()).trigger('change'));

  field('protocolVersion')
    .on('change', () => $('#node-config-row-sessionExpiry').toggle(field('protocolVersion').val() === '5'))
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

const definition: NodeDefinition<BrokerProps, BrokerCreds> = {
  category: 'config',
  defaults: {
    name: { value: '' },
    broker: { value: 'localhost', validate: check('broker') },
    clientId: { value: '', validate: checkClientId },
    cleanSession: { value: false },
    protocolVersion: { value: 4, validate: check('protocolVersion') },
    sessionExpiry: { value: 86400, validate: check('sessionExpiry') },
    keepalive: { value: 60, validate: check('keepalive') },
    tls: { value: '', type: 'tls-config', required: false },
    backoffMin: { value: 1, validate: check('backoffMin') },
    backoffMax: { value: 60, validate: check('backoffMax') },
  },
  credentials: { user: { type: 'text' }, password: { type: 'password' } },
  label: function () {
    return this.name || `${this.broker}${this.clientId ? ` (${this.clientId})` : ''}`;
  },
  oneditprepare: prepare,
  oneditsave: save,
};

RED.nodes.registerType('durable-mqtt-broker', editorDef(definition));
