// Types for aedes-persistence-level 9.x, which ships none: a factory taking an abstract-level database.
declare module 'aedes-persistence-level' {
  /** The persistence instance goes straight to Aedes (which types it `any`); we never look inside. */
  export default function aedesPersistenceLevel(db: unknown): unknown;
}
