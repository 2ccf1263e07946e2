// The outbox's bounds and what happens when they are reached; shared by the outbox, the node's settings and the editor.

/** `refuse`: a new message is refused. `dropOldest`: the oldest messages not yet sent make room, and are reported. */
export const FULL_POLICIES = ['refuse', 'dropOldest'] as const;
export type FullPolicy = (typeof FULL_POLICIES)[number];

export interface OutboxLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly whenFull: FullPolicy;
}
