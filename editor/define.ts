// Typed node definitions for the editor, with Node-RED 3.x validators that return a message string.
import type { EditorNodeInstance, EditorNodeDef, EditorNodeProperties, EditorRED } from 'node-red';
import { isEnvReference } from '../nodes/common/migrations';
import type { Problem } from './validate';

declare global {
  /** The editor's global API; Node-RED loads our script after it. */
  const RED: EditorRED;
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
 * The definition as RED.nodes.registerType takes it. Callers pass the type as a string literal, so
 * tools that read the built html (the Flow Library scorecard) find it.
 */
export function editorDef<P extends EditorNodeProperties, C = undefined>(def: NodeDefinition<P, C>): EditorNodeDef<P, C> {
  // Only `validate`'s return type differs from EditorNodeDef, and the editor accepts strings since 3.1.
  return def as unknown as EditorNodeDef<P, C>;
}

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
export function showDefaults<P extends EditorNodeProperties, C>(node: EditorNodeInstance<P>, def: NodeDefinition<P, C>, prefix: string): void {
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
