// Carries out one fault against the soak's Node-RED process and Mosquitto, and waits until it has been dealt with.
import type { MosquittoHandle } from '../../test/support/mosquitto';
import type { FlowNode, NodeRedProcess } from '../../test/support/nodered-process';
import type { Fault, FaultKind } from './schedule';

/** What a fault acts on. `variant` is the delay nodes' current version; a "nodes" deploy moves it on. */
export interface Rig {
  readonly red: NodeRedProcess;
  readonly broker: MosquittoHandle;
  readonly flow: (variant: number) => FlowNode[];
  variant: number;
}

/** A fault as it happened: ms since the soak started. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: FaultKind;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly downMs?: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function inject(fault: Fault, rig: Rig): Promise<void> {
  switch (fault.kind) {
    case 'nodered-kill':
      await rig.red.kill('SIGKILL');
      return rig.red.start();
    case 'nodered-term':
      await rig.red.kill('SIGTERM');
      return rig.red.start();
    case 'deploy-full':
      return rig.red.deploy(rig.flow(rig.variant), 'full');
    case 'deploy-nodes':
      rig.variant++;
      return rig.red.deploy(rig.flow(rig.variant), 'nodes');
    case 'broker-kill':
      await rig.broker.stop('SIGKILL');
      // The outage is part of the fault, drawn from the seed: not a wait for a condition.
      await pause(fault.downMs ?? 0);
      return rig.broker.restart();
  }
}
