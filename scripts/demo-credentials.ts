// The demo's credentials: a random secret made once per user directory and kept in it (0600), and Node-RED's credentials file read and written under it.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_FILE = '.credential-secret';

/** What earlier versions of the demo encrypted the credentials file with, the same for everyone: read once, when a user directory gets its own secret. */
export const LEGACY_SECRET = 'durable-mqtt-demo-not-a-secret';

/** Bytes of randomness in a secret: as many as the AES-256 key Node-RED derives from it. */
const SECRET_BYTES = 32;

export interface Secret {
  readonly secret: string;
  /** Made by this call: the credentials file, if any, was written under another secret. */
  readonly created: boolean;
}

export type Credentials = Record<string, unknown>;

/**
 * The secret kept in `userDir`, made now if there is none. Written with `wx`, so two demos
 * starting on one directory at once keep the same one. A file that is there but empty is an
 * error: a new secret would leave the credentials written under the old one unreadable.
 */
export function credentialSecret(userDir: string): Secret {
  const file = join(userDir, SECRET_FILE);
  try {
    writeFileSync(file, `${randomBytes(SECRET_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return { secret: readSecret(file), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: readSecret(file), created: false };
  }
}

function readSecret(file: string): string {
  const secret = readFileSync(file, 'utf8').trim();
  if (secret === '') throw new Error(`${file} is empty: remove it to have a new secret made (the credentials saved under the old one are then lost)`);
  return secret;
}

/**
 * The credentials in Node-RED's file `credFile`, or none when it is missing or cannot be read
 * under `key`. A secret made just now also tries the shared one of earlier versions, so the
 * credentials of the user's own nodes survive the change.
 */
export function readCredentials(credFile: string, key: Secret): Credentials {
  let file: { $?: unknown };
  try {
    file = JSON.parse(readFileSync(credFile, 'utf8')) as { $?: unknown };
  } catch {
    // Missing or not JSON: Node-RED would not read it either, and the demo writes its own entries anew.
    return {};
  }
  for (const secret of key.created ? [key.secret, LEGACY_SECRET] : [key.secret]) {
    try {
      return decrypt(file, secret);
    } catch {
      // Written under another secret: try the next one, if any.
    }
  }
  return {};
}

/** Writes `credentials` to `credFile` (0600) as Node-RED reads it under `secret`; no credentials, no file. */
export function writeCredentials(credFile: string, credentials: Credentials, secret: string): void {
  if (Object.keys(credentials).length === 0) return rmSync(credFile, { force: true });
  writeFileSync(credFile, JSON.stringify(encrypt(credentials, secret)), { mode: 0o600 });
  // The mode above counts only for a new file; one an earlier version wrote was 0644.
  chmodSync(credFile, 0o600);
}

/** Node-RED's credentials file format: AES-256-CTR under sha256(credentialSecret), IV in hex first. */
export function encrypt(credentials: Credentials, secret: string): { $: string } {
  const key = createHash('sha256').update(secret).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') };
}

function decrypt(file: { $?: unknown }, secret: string): Credentials {
  if (typeof file.$ !== 'string') return {};
  const key = createHash('sha256').update(secret).digest();
  const decipher = createDecipheriv('aes-256-ctr', key, Buffer.from(file.$.slice(0, 32), 'hex'));
  return JSON.parse(decipher.update(file.$.slice(32), 'base64', 'utf8') + decipher.final('utf8')) as Credentials;
}
