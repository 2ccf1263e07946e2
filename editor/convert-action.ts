// Registers "convert core MQTT nodes" (an action, in the Edit menu): runs editor/convert.ts on the workspace.
import { convertCoreNodes } from './convert';

export const CONVERT_ACTION = 'durable-mqtt:convert-core-nodes';
const NS = 'durable-mqtt';

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The editor's menu API, which the shipped types leave out. */
interface Menu {
  addItem(parent: string, item: { id: string; label: string; onselect: string }): void;
}

function workspace(): FlowNode[] {
  const all: FlowNode[] = [];
  const add = (n: object): boolean => {
    all.push(RED.nodes.convertNode(n, false) as FlowNode);
    return true;
  };
  RED.nodes.eachNode(add);
  RED.nodes.eachConfig(add);
  return all;
}

function convert(): void {
  // With nothing selected the editor's selection has no `nodes` at all.
  const selected = new Set(((RED.view.selection().nodes as { id: string }[] | undefined) ?? []).map((n) => n.id));
  const result = convertCoreNodes(workspace(), selected, () => RED.nodes.id());
  const t = (key: string, subs?: Record<string, string>): string => RED._(`${NS}.convert.${key}`, subs);
  if (result.add.length === 0) {
    const skipped = result.notes.filter((n) => n.key === 'skippedNoTopic').map((n) => t(n.key, n.subs));
    RED.notify([t('nothing'), ...skipped].join('<br>'), 'warning');
    return;
  }
  for (const id of result.remove) RED.nodes.remove(id);
  for (const { id, props } of result.change) {
    const node = RED.nodes.node(id) as unknown as Record<string, unknown> | null;
    if (node) Object.assign(node, props, { changed: true });
  }
  // Same ids, so the stored credentials still apply. The editor imports only wires between imported
  // nodes, so the ones to nodes already on the workspace are put back by hand.
  const wires = result.add.map((n) => [n.id, n.wires] as const);
  RED.nodes.import(result.add, false);
  for (const [id, ports] of wires) {
    const source = RED.nodes.node(id);
    if (!source || !Array.isArray(ports)) continue;
    ports.forEach((targets: unknown, sourcePort) => {
      for (const t of Array.isArray(targets) ? (targets as unknown[]) : []) {
        const target = typeof t === 'string' ? RED.nodes.node(t) : null;
        const linked = target && RED.nodes.filterLinks({ source, target, sourcePort }).length > 0;
        if (target && !linked) RED.nodes.addLink({ source, sourcePort, target });
      }
    });
  }
  RED.nodes.dirty(true);
  RED.view.redraw(true);
  RED.notify(result.notes.map((n) => t(n.key, n.subs)).join('<br>'), 'success');
}

export function registerConvertAction(): void {
  RED.actions.add(CONVERT_ACTION, convert);
  (RED as unknown as { menu?: Menu }).menu?.addItem('menu-item-edit-menu', { id: 'menu-item-durable-mqtt-convert', label: RED._(`${NS}.convert.menu`), onselect: CONVERT_ACTION });
}
