// Where a broker config node keeps its subscription ledger: a file under the user directory, or memory when nothing outlives the process.
import { displayUrl, type SessionConfig } from '../session/config/config';
import { stateDirOf, userDirOf } from '../session/lib/durable-file';
import { FileLedger, MemoryLedger, type SubscriptionLedger } from '../session/subscriptions/ledger';

/** `settings`: the runtime's (RED.settings). The ledger is keyed by broker and client ID: the session it describes. */
export function ledgerFor(settings: object, config: SessionConfig): SubscriptionLedger {
  const key = `${displayUrl(config.url)}|${config.clientId}`;
  const userDir = userDirOf(settings);
  // Without a userDir (the test helper) or with clean sessions, the ledger lives as long as the process.
  if (config.cleanSession || userDir === undefined) return new MemoryLedger(key);
  return new FileLedger(stateDirOf(userDir), key);
}
