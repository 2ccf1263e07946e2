// Process-level specs: no message is lost while it waits inside a delay node, a subflow, a split/join or a link call, across every deploy type, SIGTERM and SIGKILL.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite } from './support/mosquitto';
import { startNodeRed, type DeployType, type NodeRedProcess } from './support/nodered-process';
import { PATH_KINDS, pathFlow, type PathFlowOptions, type PathKind } from './support/paths';
import { publishMany } from './support/publisher';
import { figures, settle, untilProcessed } from './support/sink';

const SENT = 1500;
const PUBLISH_RATE = 500;
// Slower than the publisher, so messages queue in front of the delay node when a deploy comes.
const HOLD_RATE = 300;
const DEPLOYS_AT = [0.3, 0.6];

describe('deploys and shutdowns (Node-RED as a process, Mosquitto)', function () {
  this.timeout(180_000);
  const mosq = mosquittoForSuite();
  let dir = '';
  let red: NodeRedProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-deploys-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    red = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  let seq = 0;
  async function run(path: PathKind, o: Partial<PathFlowOptions>, during: (flow: (variant: number) => ReturnType<typeof pathFlow>) => Promise<void>): Promise<ReturnType<typeof settle>> {
    const name = `${path}-${++seq}`;
    const sink = join(dir, 'sink.log');
    const topic = `deploys/${name}`;
    const flow = (variant: number): ReturnType<typeof pathFlow> =>
      pathFlow({ brokerUrl: mosq().url, clientId: `deploys-${process.pid}-${name}`, topic, sinkFile: sink, path, rate: HOLD_RATE, variant, ...o });
    red = await startNodeRed({ flow: flow(0), userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed deploys\//);
    const publishing = publishMany(mosq().url, topic, SENT, { qos: 1, rate: PUBLISH_RATE });
    await untilProcessed([sink], SENT * DEPLOYS_AT[0]);
    await during(flow);
    await publishing;
    return settle([sink], SENT);
  }

  for (const path of PATH_KINDS) {
    describe(`a message waiting inside ${path}`, () => {
      for (const type of ['full', 'flows', 'nodes'] as DeployType[]) {
        it(`is not lost across two "${type}" deploys that change the node holding it`, async () => {
          const t = await run(path, {}, async (flow) => {
            for (const [i, share] of DEPLOYS_AT.entries()) {
              await untilProcessed([join(dir, 'sink.log')], SENT * share);
              await red?.deploy(flow(i + 1), type);
            }
          });
          console.log(`      ${path}, ${type} deploy ×2: ${figures(t)}`);
          assert.equal(t.lost, 0);
          // The deploys really stopped the holding node: Node-RED logs a stop for each.
          assert.equal(red?.output().match(/\[info\] Stopp(ing|ed) (modified )?(nodes|flows)/g)?.length, 2 * DEPLOYS_AT.length);
        });
      }

      it('is not lost when Node-RED stops on SIGTERM with the holding nodes first in flows.json, and starts again', async () => {
        const t = await run(path, { holdersFirst: true }, async () => {
          await red?.kill('SIGTERM');
          await red?.start();
        });
        console.log(`      ${path}, SIGTERM, holders first: ${figures(t)}`);
        assert.equal(t.lost, 0);
      });

      it('is not lost when Node-RED is killed with SIGKILL and starts again', async () => {
        const t = await run(path, {}, async () => {
          await red?.kill('SIGKILL');
          await red?.start();
        });
        console.log(`      ${path}, SIGKILL: ${figures(t)}`);
        assert.equal(t.lost, 0);
        assert.match(red?.output() ?? '', /\(session present\)/);
      });
    });
  }
});
