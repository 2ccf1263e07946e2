// The editor action that turns core `mqtt in` / `mqtt-broker` nodes into ours in place, keeping ids, wires and credentials.
import type { Props } from '../nodes/common/migrations';
import { asText } from '../nodes/session/config/values';

const CORE_IN = 'mqtt in';
const CORE_BROKER = 'mqtt-broker';
const OUR_IN = 'durable-mqtt-in';
const OUR_BROKER = 'durable-mqtt-broker';

type FlowNode = Props & { id: string; type: string };

export interface Conversion {
  /** Ids to remove before `add` is imported with the same ids. */
  readonly remove: string[];
  /** The converted nodes, as flow JSON; the migrations read core's names when the editor loads them. */
  readonly add: FlowNode[];
  /** Core broker configs that other core nodes still use: the properties to change on them. */
  readonly change: { id: string; props: Props }[];
  /** What happened, as message keys with substitutions, for the notification. */
  readonly notes: { key: string; subs?: Record<string, string> }[];
}

/** A node with a filter, or a dynamic one (`inputs: 1`, filters from msg.action), which ours is too; core runs neither without. */
const convertible = (n: FlowNode): boolean => Number(n.inputs ?? 0) === 1 || (typeof n.topic === 'string' && n.topic.trim() !== '');

/**
 * Converts the selected core `mqtt in` nodes (all of them when `selected` is empty) and their
 * broker configs. Same ids keep the wires, and the credentials Node-RED stores by id. A broker
 * config that core nodes which are not converted (`mqtt out`, say) still use is copied instead:
 * the copy keeps the client ID, and so the session and its queued messages; the original gets a
 * clean session without a fixed client ID, so the two connections do not take each other's ID.
 */
export function convertCoreNodes(flow: readonly FlowNode[], selected: ReadonlySet<string>, newId: () => string): Conversion {
  const ins = flow.filter((n) => n.type === CORE_IN && (selected.size === 0 || selected.has(n.id)));
  const notes: Conversion['notes'] = [];
  const chosen = ins.filter((n) => {
    if (!convertible(n)) notes.push({ key: 'skippedNoTopic', subs: { node: asText(n.name) || n.id } });
    return convertible(n);
  });
  const chosenIds = new Set(chosen.map((n) => n.id));
  const remove: string[] = [];
  const add: FlowNode[] = [];
  const change: Conversion['change'] = [];
  const brokerFor = new Map<string, string>();
  for (const brokerId of new Set(chosen.map((n) => asText(n.broker)))) {
    const broker = flow.find((n) => n.id === brokerId && n.type === CORE_BROKER);
    if (!broker) continue;
    const othersUse = flow.some((n) => n.broker === brokerId && !chosenIds.has(n.id));
    if (!othersUse) {
      remove.push(broker.id);
      add.push({ ...broker, type: OUR_BROKER });
      brokerFor.set(brokerId, brokerId);
      continue;
    }
    const copy = { ...broker, id: newId(), type: OUR_BROKER };
    add.push(copy);
    brokerFor.set(brokerId, copy.id);
    change.push({ id: broker.id, props: { clientid: '', cleansession: true } });
    notes.push({ key: 'copiedBroker', subs: { broker: asText(broker.name) || asText(broker.broker) || broker.id } });
  }
  for (const n of chosen) {
    remove.push(n.id);
    add.push({ ...n, type: OUR_IN, broker: brokerFor.get(asText(n.broker)) ?? n.broker });
  }
  notes.unshift({ key: 'converted', subs: { count: String(chosen.length) } });
  return { remove, add, change, notes };
}
