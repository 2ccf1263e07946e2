// Edit dialog of the `durable-mqtt-broker` config node: laid out like the core mqtt-broker's, plus what a persistent session needs.
import type { EditorNodeInstance, EditorNodeProperties } from 'node-red';
import { formValue, registerType, validator } from './define';
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

/** The TLS config node chosen in the dialog, if any ("_ADD_" is the editor's "add new" entry). */
function tlsChosen(): boolean {
  const v = String(field('tls').val() ?? '');
  return v !== '' && v !== '_ADD_' && v !== 'none';
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
}

function prepare(this: Broker): void {
  createTabs(this);
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
  field('broker').on('input change', () => showUrlHint(this));
  field('tls').on('change', () => showUrlHint(this));
  showUrlHint(this);
}

registerType<BrokerProps, BrokerCreds>(NS, {
  category: 'config',
  defaults: {
    name: { value: '' },
    broker: { value: 'localhost', required: true, validate: check('broker') },
    clientId: { value: '', validate: check('clientId') },
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
});
