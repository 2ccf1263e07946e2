// Command-line options of `npm run soak`.
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './schedule';

export interface CliOptions {
  /** undefined: a fresh one, printed. */
  seed?: number;
  seconds: number;
  rate: number;
  kinds?: FaultKind[];
  brokerLog: 'all' | 'info';
  /** The result file; a dated one under bench/results/ by default. */
  out?: string;
}

export const USAGE = `usage: npm run soak -- [--seed N] [--seconds S] [--rate R] [--faults ${FAULT_KINDS.join('|')}[,...]]
                     [--broker-log all|info] [--out FILE]`;

function whole(name: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not "${value}"\n${USAGE}`);
  return n;
}

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      faults: { type: 'string' },
      'broker-log': { type: 'string', default: 'all' },
      out: { type: 'string' },
    },
  });
  const kinds = values.faults?.split(',').map((k) => {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault "${k}"\n${USAGE}`);
    return k as FaultKind;
  });
  const brokerLog = values['broker-log'];
  if (brokerLog !== 'all' && brokerLog !== 'info') throw new Error(`--broker-log is all or info\n${USAGE}`);
  return {
    seed: whole('seed', values.seed, undefined),
    seconds: whole('seconds', values.seconds, 480) as number,
    rate: whole('rate', values.rate, 300) as number,
    kinds,
    brokerLog,
    out: values.out,
  };
}
