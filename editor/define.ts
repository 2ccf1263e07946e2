// Typed node definitions for the editor, with Node-RED 3.x validators that return a message string.
import type { EditorNodeDef, EditorNodeInstance, EditorNodeProperties, EditorRED } from 'node-red';
import { isEnvReference } from '../nodes/common/migrations';
import type { Problem } from './validate';

/**
 * The editor's registry as we call it: `registerType` takes definitions whose validators may return
 * messages (Node-RED ≥ 3.1 shows them; the shipped types only know booleans).
 */
type Nodes = Omit<EditorRED['nodes'], 'registerType'> & {
  registerType<P extends EditorNodeProperties, C = undefined>(type: string, def: NodeDefinition<P, C>): void;
};

declare global {
  /**
   * The editor's global API; Node-RED loads our script after it. Every node type is registered with
   * `RED.nodes.registerType('<type>', { ... })`, the definition an object literal at the call: tools that
   * read node types from the built html without running it (node-red-dev, the flow library) find only those.
   */
  const RED: Omit<EditorRED, 'nodes'> & { nodes: Nodes };
}

/** Node-RED ≥ 3.1 shows a string from validate as the field's tooltip; the shipped types only know booleans. */
export type Validate<P extends EditorNodeProperties> = (this: EditorNodeInstance<P>, value: string, opt?: { label?: string }) => true | string;

interface PropertyDef<P extends EditorNodeProperties, V> {
  /** Absent for a core property kept only so an imported core node keeps it until migrated. */
  value?: V | '';
  required?: boolean;
  type?: string;
  validate?: Validate<P>;
}

/** A node definition whose validators may return messages. */
export type NodeDefinition<P extends EditorNodeProperties, C = undefined> = Omit<EditorNodeDef<P, C>, 'defaults'> & {
  defaults: { [K in keyof P]: PropertyDef<P, P[K]> };
};

/**
 * Turns a check into a validator that reports the problem in the user's language. It must declare
 * two parameters: Node-RED shows a returned string only from validators of length 2.
 */
export function validator<P extends EditorNodeProperties>(ns: string, check: (this: EditorNodeInstance<P>, value: string) => Problem | undefined): Validate<P> {
  return function (this: EditorNodeInstance<P>, value: unknown, _opt?: { label?: string }): true | string {
    // Node-RED substitutes `${NAME}` at deploy time; the runtime checks what it becomes.
    if (isEnvReference(value)) return true;
    // The dialog passes strings; the workspace passes stored values, which may be numbers or missing.
    const problem = check.call(this, value === undefined || value === null ? '' : String(value as string | number | boolean));
    return problem ? this._(`${ns}.validation.${problem.key}`, problem.subs) : true;
  };
}

/** Shows the default of every plain property the node lacks (a hand-written flow, or one saved before the property existed). */
export function showDefaults<P extends EditorNodeProperties>(node: EditorNodeInstance<P>, prefix: string): void {
  // The definition as registered: it is written only at its registerType call.
  const def = RED.nodes.getType(node.type);
  for (const [prop, d] of Object.entries(def.defaults) as [string, PropertyDef<P, unknown>][]) {
    if ((node as Record<string, unknown>)[prop] !== undefined || d.value === '' || d.value === undefined || d.type) continue;
    const input = $(`#${prefix}-${prop}`);
    if (typeof d.value === 'boolean') input.prop('checked', d.value);
    else input.val(d.value as string | number);
  }
}

/** The value a dialog field has now, or the stored property when no dialog is open (validation in the workspace). */
export function formValue(id: string, stored: string | number | boolean | undefined): string | boolean {
  const field = $(`#${id}`);
  if (field.length === 0) return typeof stored === 'boolean' ? stored : String(stored ?? '');
  return field.attr('type') === 'checkbox' ? field.is(':checked') : String(field.val() ?? '');
}
