// The churn soak in short (bench/soak): a fixed seed's faults against our consumer, beside core mqtt in, on a persistent Mosquitto.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { report } from '../bench/soak/report';
import { runSoak } from '../bench/soak/run';
import { duplicateBound } from '../bench/soak/tally';
import { requireMosquitto } from './support/mosquitto';

// Its first faults: Mosquitto kill -9, a "nodes" deploy, Node-RED kill -9 (and SIGTERM if time allows).
const SEED = 164;
const SECONDS = 70;
// Well within what Mosquitto saving after every change keeps up with on a loaded two-core machine;
// past that its in-flight set only grows (docs/acks.md, "The churn soak").
const RATE = 100;

describe('churn soak, short (Node-RED as a process, Mosquitto with persistence)', function () {
  this.timeout(300_000);
  let dir = '';

  before(() => requireMosquitto());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-soak-spec-'));
    mkdirSync(join(dir, 'broker'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(`loses nothing and keeps duplicates within maxInFlight plus the broker's in-flight limit in every fault window (seed ${SEED})`, async () => {
    const r = await runSoak({
      seed: SEED,
      seconds: SECONDS,
      rate: RATE,
      delayRate: 1000,
      gapMs: [12_000, 18_000],
      brokerLog: 'info',
      dir,
      settleIdleMs: 8000,
      log: () => undefined,
    });
    console.log(report(r).replace(/^/gm, '      '));
    assert.ok(r.faults.length >= 3, `${r.faults.length} faults`);
    const ours = r.contestants.ours;
    assert.equal(ours.lost, 0, `missing: ${ours.missing.join(', ')}`);
    const bound = duplicateBound();
    for (const [i, d] of ours.perWindow.entries()) assert.ok(d <= bound, `${d} duplicates after ${i === 0 ? 'the start' : `fault ${i} (${r.faults[i - 1].kind})`}`);
  });
});
