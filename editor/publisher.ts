// Edit dialog of the `durable-mqtt-out` node: the core mqtt out's fields, plus the outbox limits and what happens when it is full.
import type { EditorNodeProperties } from 'node-red';
import { currentVersion } from '../nodes/common/migrations';
import { publisherMigrations } from '../nodes/publisher/migrations';
import { showDefaults, validator } from './define';
import { upgradeInPlace } from './migrate';
import { publisherChecks } from './validate';

interface PublisherProps extends EditorNodeProperties {
  name: string;
  broker: string;
  topic: string;
  qos: string;
  retain: string;
  outboxMaxMessages: number;
  outboxMaxMB: number;
  outboxWhenFull: string;
  version: number;
  // Core's names, kept so an imported core node keeps them and the runtime can say they are not used (nodes/publisher/migrations.ts).
  respTopic?: string;
  contentType?: string;
  userProps?: string;
  correl?: string;
  expiry?: string;
}

const NS = 'durable-mqtt-out';
const check = (name: keyof typeof publisherChecks) => validator<PublisherProps>(NS, (value) => publisherChecks[name](value));

RED.nodes.registerType<PublisherProps>('durable-mqtt-out', {
  category: 'network',
  color: '#cfa9cf',
  defaults: {
    name: { value: '' },
    broker: { type: 'durable-mqtt-broker', required: true, value: '' },
    topic: { value: '', validate: check('topic') },
    qos: { value: '1', validate: check('qos') },
    retain: { value: '' },
    outboxMaxMessages: { value: 10000, validate: check('outboxMaxMessages') },
    outboxMaxMB: { value: 100, validate: check('outboxMaxMB') },
    outboxWhenFull: { value: 'refuse', validate: check('outboxWhenFull') },
    version: { value: currentVersion(publisherMigrations) },
    respTopic: {},
    contentType: {},
    userProps: {},
    correl: {},
    expiry: {},
  },
  inputs: 1,
  outputs: 0,
  icon: 'durable-mqtt.svg',
  align: 'right',
  paletteLabel: 'durable mqtt out',
  label: function () {
    return this.name || this.topic || 'durable mqtt out';
  },
  labelStyle: function () {
    return this.name ? 'node_label_italic' : '';
  },
  oneditprepare: function () {
    upgradeInPlace(this);
    showDefaults(this, 'node-input');
  },
});
