// Upgrades a node's saved properties to the current version, one step at a time, before anything parses them.
import { numberOf } from '../session/config/values';

/** Any node's saved properties, as the flow file holds them. */
export type Props = Record<string, unknown>;

/** One step: turns properties saved at `version - 1` into properties of `version`. */
export interface Migration {
  readonly version: number;
  up(props: Props): Props;
}

/** The property that says which version of the properties a node was saved with; missing means 0. */
export const VERSION_PROP = 'version';

/** The version a saved node claims: 0 when it has none (saved before versioning, or a core node with its type switched). */
export function savedVersion(props: Props): number {
  const v = numberOf(props[VERSION_PROP] ?? 0);
  return Number.isInteger(v) && v >= 0 ? v : 0;
}

/** The newest version a list of migrations leads to. */
export function currentVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((top, m) => Math.max(top, m.version), 0);
}

/**
 * Applies every step after the saved version, in order, and stamps the result with the version it
 * reached. A node from a newer release than this one is left as it is: guessing would be worse.
 */
export function migrate<P extends object>(props: P, migrations: readonly Migration[]): P {
  let out: Props = { ...props } as Props;
  let version = savedVersion(out);
  for (const step of [...migrations].sort((a, b) => a.version - b.version)) {
    if (step.version !== version + 1) continue;
    out = { ...step.up(out), [VERSION_PROP]: step.version };
    version = step.version;
  }
  return out as P;
}

/**
 * Whether saved properties hold `key`. The editor gives a node it loads every property its
 * definition lists, undefined where the flow had none, so an own property alone proves nothing there.
 */
export const holds = (p: Props, key: string): boolean => Object.hasOwn(p, key) && p[key] !== undefined;


/** Node-RED replaces a property that is exactly `${NAME}` (or the older `$(NAME)`) with that environment variable at deploy time (@node-red/runtime lib/flows/util.js, mapEnvVarProperties). */
export const ENV_REFERENCE = /^\$\{\S+\}$|^\$\(\S+\)$/;

/** True when a value is an environment variable reference that Node-RED substitutes; the editor cannot check what it will be. */
export const isEnvReference = (v: unknown): boolean => typeof v === 'string' && ENV_REFERENCE.test(v.trim());
