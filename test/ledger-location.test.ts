// Specs for nodes/broker/ledger-location.ts: where a broker config node keeps what the broker holds for its session.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ledgerFor } from '../nodes/broker/ledger-location';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config';
import { stateDirOf } from '../nodes/session/lib/durable-file';
import { FileLedger, MemoryLedger } from '../nodes/session/subscriptions/ledger';
import { tempDirForEach } from './support/temp-dir';

function config(clientId: string, cleanSession = false): SessionConfig {
  const parsed = parseConfig({ broker: 'mqtt://h.example:1883', clientId, cleanSession });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

describe('ledger location', () => {
  const userDir = tempDirForEach('ledger-location-');

  it('keeps the ledger in a file under the user directory, keyed by broker and client ID', () => {
    const ledger = ledgerFor({ userDir: userDir() }, config('a'));
    assert.ok(ledger instanceof FileLedger);
    ledger.save(new Map([['x/#', 1]]));
    assert.ok(existsSync(stateDirOf(userDir())));
    assert.deepEqual([...(ledgerFor({ userDir: userDir() }, config('a')).load() ?? [])], [['x/#', 1]], 'a restart finds it');
    assert.equal(ledgerFor({ userDir: userDir() }, config('b')).load(), undefined, 'another client ID has its own');
  });

  it('keeps it in memory with clean sessions, or where the runtime has no user directory', () => {
    assert.ok(ledgerFor({ userDir: userDir() }, config('c', true)) instanceof MemoryLedger);
    assert.ok(ledgerFor({}, config('d')) instanceof MemoryLedger);
  });
});
