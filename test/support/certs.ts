// Test helper: throwaway CA plus a localhost server certificate, made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function openssl(cwd: string, args: string[]): void {
  // stdio piped so openssl's progress noise does not clutter the mocha output.
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Creates a CA and a server cert for CN=localhost (SAN IP:127.0.0.1, DNS:localhost)
 * signed by it. EC P-256 keys keep generation fast. Files go into `dir` or a fresh temp dir.
 */
export function makeCerts(dir: string = mkdtempSync(join(tmpdir(), 'mqtt-test-certs-'))): TestCerts {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const extFile = join(dir, 'server.ext');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  openssl(dir, [
    'req', '-x509', ...ecKey, '-keyout', caKey, '-out', caFile, '-days', '2',
    '-subj', '/CN=durable-mqtt test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(dir, ['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=localhost']);
  // Hostname checks use the SAN, not the CN, so both the IP and the name must be listed.
  writeFileSync(extFile, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  openssl(dir, [
    'x509', '-req', '-in', csrFile, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial',
    '-out', certFile, '-days', '2', '-extfile', extFile,
  ]);

  return {
    dir, caFile, certFile, keyFile,
    ca: readFileSync(caFile), cert: readFileSync(certFile), key: readFileSync(keyFile),
  };
}
