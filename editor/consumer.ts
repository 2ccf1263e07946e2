// Edit dialog of the `durable-mqtt-in` node: the core mqtt in's fields in the same places, plus acknowledgement and shared groups.
import type { EditorNodeInstance, EditorNodeProperties } from 'node-red';
import { editorDef, formValue, showDefaults, validator, type NodeDefinition } from './define';
import { currentVersion } from '../nodes/common/migrations';
import { consumerMigrations } from '../nodes/consumer/migrations';
import { upgradeInPlace } from './migrate';
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
  showDefaults(this, definition, 'node-input');
  field('broker').on('change', toggleV5Rows);
  toggleV5Rows();
  field('ackMode')
    .on('change', () => {
      const complete = field('ackMode').val() === 'complete';
      $('.durable-mqtt-ack-complete').toggle(complete);
      $('#node-input-ack-receive-tip').toggle(!complete);
    })
    .trigger('change');
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

const definition: NodeDefinition<ConsumerProps> = {
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
    return i === 0 ? this._(`${NS}.outputs.messages`) : this._(`${NS}.outputs.status`);
  },
  oneditprepare: prepare,
  oneditsave: function () {
    // A group typed without pressing Share is what the user meant: apply it rather than drop it.
    if (String($('#node-input-share-group').val() ?? '').trim() !== sharedGroup(String(field('topic').val() ?? ''))) applyShare();
    // Node-RED keeps `outputs` in the flow; the second port exists only with status output on.
    (this as { outputs: number }).outputs = field('statusOutput').is(':checked') ? 2 : 1;
    // As core's dialog: the input port exists only for msg.action.
    (this as { inputs: 0 | 1 }).inputs = isDynamic(this) ? 1 : 0;
  },
};

RED.nodes.registerType('durable-mqtt-in', editorDef(definition));
