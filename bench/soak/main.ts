// `npm run soak`: the churn soak of issue "End to end" (duplicates stay bounded under churn); prints the tally and writes a JSON result.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureBuilt } from '../../test/support/nodered-process';
import { parseCli } from './options';
import { newSeed } from './random';
import { report } from './report';
import { runSoak } from './run';

/** The delay node of the reported runs: a rate limit of 1,000 msg/s. */
const DELAY_RATE = 1000;
/** Seconds without a new sink line after which what is missing counts as lost. */
const SETTLE_IDLE_S = 20;

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const seed = cli.seed ?? newSeed();
  console.log(`soak seed ${seed} (repeat with --seed ${seed})`);
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), `durable-soak-${seed}-`));
  mkdirSync(join(dir, 'broker'));
  const result = await runSoak({
    seed,
    seconds: cli.seconds,
    rate: cli.rate,
    delayRate: DELAY_RATE,
    kinds: cli.kinds,
    brokerLog: cli.brokerLog,
    dir,
    settleIdleMs: SETTLE_IDLE_S * 1000,
    log: (line) => console.log(line),
  });
  console.log(`\n${report(result)}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = resolve(cli.out ?? join(__dirname, '..', 'results', `soak-${seed}-${stamp}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log(`\nresult: ${out}\nlogs and sinks: ${dir}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
