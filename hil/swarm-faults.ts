// Swarm testing's random faults (Groce et al., "Swarm Testing", ISSTA 2012: each run enables a
// random subset of fault kinds, so that runs differ in which features they stress, not only in
// when): drawn from the run's seed, so a failing seed replays the same faults at the same times.
// Only faults the federation is built to survive are drawn — a system that must tolerate them and
// does not is a bug the checks then report:
//   validator    crash (kill -9) or stop (SIGTERM) one validator, start it again later; at most
//                f = ⌊(n − 1) / 3⌋ down at once, so consensus keeps its quorum
//   scheduler    crash it and start it again, never while a submission is due (a client would
//                retry; the checks count a request nobody answered as a failure)
//   station      crash a ground agent and start it again
//   satellite    crash an orbital agent and start it again
//   partition    cut every space link for a while
//   flap         cut one station–satellite link for a few minutes, several times
// and, for the whole run, the validators' network: loss, duplication and delays (which reorder).
import type { ScenarioFault } from './scenario-file.ts';
import type { ValidatorNetworkFaults } from './virtual-validators.ts';

export const SWARM_FAULT_KINDS = ['validator', 'scheduler', 'station', 'satellite', 'partition', 'flap'] as const;
export type SwarmFaultKind = (typeof SWARM_FAULT_KINDS)[number];

/** Faults drawn per run at most (each kind enabled draws 1–2). */
export const SWARM_FAULTS_MAX = 24;

export interface SwarmFaultInputs {
  readonly validators: number;
  readonly grounds: readonly { readonly id: string; readonly ipn: number }[];
  readonly orbitals: readonly { readonly id: string; readonly ipn: number }[];
  readonly durationSec: number;
  /** Plan seconds at which the scenario submits jobs (the scheduler is up then). */
  readonly submissionsSec: readonly number[];
}

export interface SwarmFaultPlan {
  readonly kinds: readonly SwarmFaultKind[];
  readonly faults: readonly ScenarioFault[];
  readonly validatorNetwork: ValidatorNetworkFaults;
}

/**
 * The random faults of one run. Everything happens in the first 60 % of the run, so that the rest
 * shows whether the federation recovered (jobs end, receipts settle) before the checks.
 */
export function drawSwarmFaults(rng: () => number, inputs: SwarmFaultInputs): SwarmFaultPlan {
  const uniform = (low: number, high: number): number => low + Math.floor(rng() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  // Restarts happen before the end of the run (the checks read every process's state).
  const before = (sec: number): number => Math.min(sec, Math.max(1, inputs.durationSec - 1));
  const kinds = SWARM_FAULT_KINDS.filter(() => rng() < 0.5);
  const windowEndSec = Math.max(120, Math.floor(inputs.durationSec * 0.6));
  const faults: ScenarioFault[] = [];
  const validatorDown: { fromSec: number; toSec: number }[] = [];
  const tolerated = Math.floor((inputs.validators - 1) / 3);
  for (const kind of kinds) {
    const count = uniform(1, 2);
    for (let k = 0; k < count && faults.length < SWARM_FAULTS_MAX; k++) {
      const atSec = Math.min(uniform(30, windowEndSec), before(windowEndSec));
      switch (kind) {
        case 'validator': {
          if (tolerated === 0) break;
          const downSec = uniform(30, 1_200);
          const overlapping = validatorDown.filter((d) => d.fromSec < atSec + downSec && atSec < d.toSec).length;
          if (overlapping >= tolerated) break;
          validatorDown.push({ fromSec: atSec, toSec: atSec + downSec });
          const process = `validator-${uniform(0, inputs.validators - 1)}`;
          // The same validator twice at once would be a fault of the injector, not of the federation.
          if (faults.some((f) => 'process' in f && f.process === process && f.atSec <= atSec + downSec && atSec <= f.atSec + 1_200)) break;
          faults.push({ atSec, kind: rng() < 0.5 ? 'crash' : 'stop', process }, { atSec: before(atSec + downSec), kind: 'start', process });
          break;
        }
        case 'scheduler': {
          const downSec = uniform(10, 300);
          if (inputs.submissionsSec.some((s) => s >= atSec - 5 && s <= atSec + downSec + 5)) break;
          if (faults.some((f) => 'process' in f && f.process === 'scheduler')) break;
          faults.push({ atSec, kind: 'crash', process: 'scheduler' }, { atSec: before(atSec + downSec), kind: 'start', process: 'scheduler' });
          break;
        }
        case 'station': {
          if (inputs.grounds.length === 0) break;
          const process = `ground-${pick(inputs.grounds).id}`;
          if (faults.some((f) => 'process' in f && f.process === process)) break;
          faults.push({ atSec, kind: 'crash', process }, { atSec: before(atSec + uniform(30, 900)), kind: 'start', process });
          break;
        }
        case 'satellite': {
          if (inputs.orbitals.length === 0) break;
          const process = `orbital-${pick(inputs.orbitals).id}`;
          if (faults.some((f) => 'process' in f && f.process === process)) break;
          faults.push({ atSec, kind: 'crash', process }, { atSec: before(atSec + uniform(30, 1_800)), kind: 'start', process });
          break;
        }
        case 'partition':
          if (inputs.grounds.length === 0 || inputs.orbitals.length === 0) break;
          faults.push({ atSec, kind: 'partition', from: 'all', to: 'all', durationSec: uniform(60, 1_800) });
          break;
        case 'flap': {
          if (inputs.grounds.length === 0 || inputs.orbitals.length === 0) break;
          const from = pick(inputs.grounds).ipn;
          const to = pick(inputs.orbitals).ipn;
          const downSec = uniform(20, 300);
          const everySec = downSec + uniform(60, 600);
          for (let n = 0; n < uniform(2, 4) && atSec + n * everySec < windowEndSec; n++) {
            faults.push({ atSec: atSec + n * everySec, kind: 'partition', from, to, durationSec: downSec });
          }
          break;
        }
      }
    }
  }
  const validatorNetwork: ValidatorNetworkFaults = {
    dropProbability: rng() < 0.5 ? 0 : rng() * 0.1,
    duplicateProbability: rng() < 0.5 ? 0 : rng() * 0.1,
    delayMsMin: 1,
    delayMsMax: uniform(5, 400),
  };
  faults.sort((a, b) => a.atSec - b.atSec);
  return { kinds, faults, validatorNetwork };
}
