// The DTN world the dispatcher tests run in: the scheduler's node, one satellite and three
// stations, each a real BundleAgent on a SimulatedNetwork driven by the test plan plus the
// scheduler's overlay contacts to the stations.
import { BundleAgent, SimulatedNetwork, simulatedPeerAddress, type PeerAddress } from '../../dtn/index.ts';
import { withOverlayContacts } from '../../scheduler/dispatcher.ts';
import type { SimulationClock } from '../../hil/index.ts';
import { scratchDirectory as dtnScratch } from '../dtn/agent-harness.ts';
import { testPlan } from './api-harness.ts';
import { T0_MS } from './job-fixtures.ts';

export const SCHEDULER = 900;
export const SATELLITE = 100;
export const STATIONS = [10, 11, 12];

export interface DispatcherNetwork {
  /** The scheduler's overlay peers (the stations), as the Dispatcher is given them. */
  readonly overlay: readonly { readonly node: number; readonly rateBytesPerSec: number }[];
  /** Started, by ipn node number. */
  readonly agents: Map<number, BundleAgent>;
}

/** Starts a bundle agent per node, their stores in a new scratch directory named from `prefix`. */
export async function startDispatcherNetwork(clock: SimulationClock, prefix: string): Promise<DispatcherNetwork> {
  const overlay = STATIONS.map((node) => ({ node, rateBytesPerSec: 12_500_000 }));
  const plan = withOverlayContacts(testPlan(), SCHEDULER, overlay, 'scheduler');
  const network = new SimulatedNetwork({ clock });
  network.addContactPlan(plan, T0_MS);
  const nodes = [SCHEDULER, SATELLITE, ...STATIONS];
  const peers = new Map<number, PeerAddress>(nodes.map((n) => [n, simulatedPeerAddress(n)]));
  const dir = await dtnScratch(prefix);
  const agents = new Map<number, BundleAgent>();
  for (const node of nodes) {
    const agent = new BundleAgent({
      nodeNumber: node, storePath: `${dir}/node-${node}.db`, store: { capacityBytes: 64 * 1024 * 1024, capacityBundles: 10_000 },
      plan, peers, convergenceLayers: [network.convergenceLayer(node)], clock,
    });
    await agent.start();
    agents.set(node, agent);
  }
  return { overlay, agents };
}
