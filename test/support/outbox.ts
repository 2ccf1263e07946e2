// Appends to an outbox with a promise, as the specs wait for each record to be on disk; the node itself uses `add`.
import type { Outbox, Publication, Queued } from '../../nodes/publisher/outbox';

/**
 * Resolves once `publication` is on disk. When the outbox is full, `refuse` rejects with an
 * OutboxFullError; `dropOldest` removes the oldest waiting entries to make room and returns them.
 */
export function append(box: Outbox, publication: Publication): Promise<{ entry: Queued; evicted: readonly Queued[] }> {
  return new Promise((resolve, reject) => {
    const evicted = box.add(publication, (entry, err) => (err ? reject(err) : resolve({ entry, evicted })));
  });
}
