// Settlement (issue 6): four `orbitfed validator` processes on loopback, as the issue asks, each
// with its own chain store on disk. The numbers the issue sets: ≥ 2,000 receipts/s settled;
// finality p50 ≤ 1.5 s and p99 ≤ 3 s; a validator with 100,000 settled receipts caught up ≤ 2 s
// after a restart. No anchor is named (CometBFT is the engine an operator could swap in, but it is
// not installable here); the method follows CometBFT's loadtime: throughput is measured at
// saturation, latency at a steady offered load below it (latency at saturation is queueing time).
//
// Phases, all against the same four processes:
//  1. escrows: one per job, submitted in batches round-robin (settling a receipt posts its job's escrow);
//  2. throughput: 100,000 receipts as fast as the validators take them (a few batches in flight),
//     with the CPU time each validator process (all its threads) and this client spent, so that
//     the ceiling of this machine can be stated: cores / Σ CPU per receipt;
//  3. finality: a steady offered load of receipts at half the rate phase 2 sustained (at most the
//     issue's 2,000/s), in batches every 50 ms, each batch waiting for its commit; a receipt's
//     finality is submit → commit answer, so it includes the RPC, mempool gossip and the wait for
//     the next block;
//  4. restart: one validator stopped (SIGTERM: it snapshots) and started again; time from spawn to
//     its RPC answering and to its last committed height reaching the others'; then the same after
//     SIGKILL (replays blocks). The validator's own log gives how long the ledger restore took.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { ed25519Signer, ed25519Verify, encodeTransaction, makeReceipt, signReceipt, type LedgerTransaction } from '../consensus/index.ts';
import type { UnixMs } from '../common/index.ts';
import { PROPOSAL_TXS_MAX_DEFAULT } from '../consensus/validator-node.ts';
import { ValidatorCluster } from '../test/consensus/validator-cluster.ts';
import { formatCount, type BenchSection, type SectionRow } from './report.ts';
import { startStopwatch } from './timing.ts';

const RECEIPTS_TARGET_PER_SEC = 2000;
const FINALITY_P50_MS_MAX = 1500;
const FINALITY_P99_MS_MAX = 3000;
const RESTART_MS_MAX = 2000;

const STEADY_RATE_PER_SEC_MAX = RECEIPTS_TARGET_PER_SEC;
const STEADY_RATE_PER_SEC_MIN = 100;
/** The steady load offered in phase 3, as a fraction of the saturated rate of phase 2. */
const STEADY_LOAD_FRACTION = 0.5;
const STEADY_SECONDS = 15;
const STEADY_BATCH_INTERVAL_MS = 50;
const THROUGHPUT_RECEIPTS = 100_000;
const THROUGHPUT_BATCH = 1000;
const THROUGHPUT_IN_FLIGHT = 8;
const ESCROW_BATCH = 2000;
const SUBMIT_TIMEOUT_MS = 30_000;
const VALIDATORS = 4;
const PROVIDER_CREDIT_PER_RECEIPT_MINOR = 864;
const USAGE = { cpuMs: 60_000, memoryByteSeconds: 1n << 30n, diskByteSeconds: 1n << 30n, gpuMs: 0, egressBytes: 1_000_000n };
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_SEC = 100;

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (met: boolean): string => (met ? 'pass' : 'FAIL');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** CPU time (user + system, all threads) a process has used, in ms; NaN when it is gone. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return Number.NaN;
  }
}

const ownCpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** CPU µs of one ed25519 verification (OpenSSL's fast path) on this machine, measured here. */
function verifyCpuMicros(): number {
  const signer = ed25519Signer(new Uint8Array(32).fill(7));
  const messages = Array.from({ length: 2000 }, (_, i) => new Uint8Array(180).fill(i & 0xff));
  const signatures = messages.map((m) => signer.sign(m));
  for (let i = 0; i < 200; i++) ed25519Verify(signer.publicKey, messages[i]!, signatures[i]!);
  const before = process.cpuUsage();
  for (let i = 0; i < messages.length; i++) ed25519Verify(signer.publicKey, messages[i]!, signatures[i]!);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / messages.length;
}

interface StartPhases {
  /** Wall time (epoch ms) at which the ledger restore began, and how long it took with the replay (wall, and CPU of the consensus thread). */
  readonly restoreStartMs: number;
  readonly restoreMs: number;
  readonly restoreCpuMs: number;
  readonly replayed: number;
  /** Wall time at which the transport had libp2p listening (before the ledger restore). */
  readonly transportMs: number;
  /** Wall time at which the validator logged that it runs (RPC listening), and the process's CPU time (all threads) by then. */
  readonly runningMs: number;
  readonly runningCpuMs: number;
}

/** The 'validator started' (after restore and replay), 'transport listening' and 'validator running' lines of a validator's log after `fromLine`. */
function startPhases(path: string, fromLine: number): StartPhases {
  const entries = readFileSync(path, 'utf8').split('\n').slice(fromLine).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const started = entries.find((e) => e.msg === 'validator started');
  const transport = entries.find((e) => e.msg === 'transport listening');
  const running = entries.find((e) => e.msg === 'validator running');
  const num = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN);
  return {
    restoreStartMs: num(started?.time) - num(started?.restoreMs), restoreMs: num(started?.restoreMs), restoreCpuMs: num(started?.restoreCpuMs), replayed: num(started?.replayed),
    transportMs: num(transport?.time), runningMs: num(running?.time), runningCpuMs: num(running?.cpuMs),
  };
}

export async function runConsensusCases(options: { progress: (message: string) => void }): Promise<BenchSection> {
  const { progress } = options;
  const steadyReceiptsMax = STEADY_RATE_PER_SEC_MAX * STEADY_SECONDS;
  const jobs = THROUGHPUT_RECEIPTS + steadyReceiptsMax;
  // 'info' so that the restarted validator's log says how long its restore took; per-block lines are 'debug'.
  const cluster = await ValidatorCluster.create({ validators: VALIDATORS, configExtras: { logLevel: 'info' } });
  try {
    for (let i = 0; i < VALIDATORS; i++) cluster.start(i);
    for (let i = 0; i < VALIDATORS; i++) await cluster.waitForRpc(i);
    await cluster.waitForHeight(0, 2);
    const seed = cluster.testnet.nodeSeeds.get('sat-1')!;
    progress(`consensus: signing ${formatCount(jobs)} receipts and their escrows`);
    const deadlineMs = Date.now() + 72 * 3_600_000;
    const escrows: Uint8Array[] = [];
    const receipts: Uint8Array[] = [];
    for (let job = 0; job < jobs; job++) {
      const escrow: LedgerTransaction = {
        kind: 'escrow-open', escrowId: `e-${job}`, jobId: `j-${job}`, tenantAccountId: 'tenant-a', providerAccountId: 'sat-1-earnings', amountMinor: 1_000n, deadlineMs,
      };
      escrows.push(encodeTransaction(escrow));
      const receipt = makeReceipt({
        chainId: 'orbitfed-cluster', nodeId: 'sat-1', keyEpoch: 0, sequence: job + 1, jobId: `j-${job}`, usage: USAGE, amountMinor: 900n, currency: 'EUR',
        createdAtMs: Date.now() as UnixMs,
      });
      receipts.push(encodeTransaction({ kind: 'settle-receipt', receipt: signReceipt(receipt, seed) }));
    }
    const verifyMicros = verifyCpuMicros();

    let next = 0;
    /** Submits `txs` in batches, `inFlight` at once, each waiting for its commit; a failed request counts its batch as not settled. */
    const submitAll = async (txs: readonly Uint8Array[], batch: number, inFlight: number): Promise<{ committed: number; failed: number; errors: Set<string> }> => {
      let committed = 0;
      let failed = 0;
      const errors = new Set<string>();
      let cursor = 0;
      const worker = async (): Promise<void> => {
        while (cursor < txs.length) {
          const slice = txs.slice(cursor, cursor + batch);
          cursor += batch;
          const client = cluster.clients[next++ % cluster.clients.length]!;
          try {
            const answers = await client.submit(slice, { waitForCommit: true, timeoutMs: SUBMIT_TIMEOUT_MS });
            for (const a of answers) {
              if (a.status === 'committed' && a.code === 0) committed++;
              else failed++;
            }
          } catch (error) {
            failed += slice.length;
            errors.add((error as Error).message.slice(0, 120));
          }
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      return { committed, failed, errors };
    };

    /** The provider's balance: each settled receipt credits it 900 − 4 % fee (36) = 864. */
    const providerEarnings = async (): Promise<bigint> => BigInt(String((await cluster.clients[0]!.account('sat-1-earnings'))?.balanceMinor ?? '0'));
    const mempoolsDrained = async (): Promise<void> => {
      const endMs = Date.now() + 300_000;
      for (;;) {
        const sizes = await Promise.all(cluster.clients.map(async (c) => (await c.status()).mempoolTxs));
        if (sizes.every((n) => n === 0)) return;
        if (Date.now() > endMs) throw new Error(`mempools still hold ${sizes.join(' / ')} transactions after 300 s`);
        await sleep(100);
      }
    };

    // 1. Escrows.
    progress('consensus: opening escrows');
    const escrowMs = startStopwatch();
    const escrowResult = await submitAll(escrows, ESCROW_BATCH, 4);
    await mempoolsDrained();
    const escrowSec = escrowMs() / 1000;

    // 2. Throughput at saturation, with the CPU it took. A batch whose wait timed out is still in
    // the mempools: the phase ends when every mempool is empty, and what settled is read from the
    // ledger (the provider's earnings), not from the answers.
    progress(`consensus: ${formatCount(THROUGHPUT_RECEIPTS)} receipts as fast as they settle`);
    const heightBefore = (await cluster.clients[0]!.status()).lastCommitted?.height ?? 0;
    const earningsBefore = await providerEarnings();
    const cpuBefore = cluster.processes.map((p) => processCpuMs(p?.pid));
    const clientCpuBefore = ownCpuMs();
    const throughputMs = startStopwatch();
    const throughput = await submitAll(receipts.slice(0, THROUGHPUT_RECEIPTS), THROUGHPUT_BATCH, THROUGHPUT_IN_FLIGHT);
    await mempoolsDrained();
    const throughputSec = throughputMs() / 1000;
    const validatorCpuMs = cluster.processes.map((p, i) => processCpuMs(p?.pid) - cpuBefore[i]!);
    const clientCpuMs = ownCpuMs() - clientCpuBefore;
    const heightAfter = (await cluster.clients[0]!.status()).lastCommitted?.height ?? 0;
    const throughputSettled = Number((await providerEarnings()) - earningsBefore) / PROVIDER_CREDIT_PER_RECEIPT_MINOR;
    const perSec = throughputSettled / throughputSec;
    const rss = cluster.processes.map((p) => rssMiB(p?.pid));
    const cores = cpus().length;
    const validatorCpuPerReceiptMs = validatorCpuMs.reduce((a, b) => a + b, 0) / Math.max(1, throughputSettled);
    const clientCpuPerReceiptMs = clientCpuMs / Math.max(1, throughputSettled);
    const ceilingPerSec = (cores * 1000) / (validatorCpuPerReceiptMs + clientCpuPerReceiptMs);
    const verifyCeilingPerSec = (cores * 1e6) / (VALIDATORS * verifyMicros);

    // 3. Finality at a steady offered load below the saturated rate.
    const steadyRate = Math.max(STEADY_RATE_PER_SEC_MIN, Math.min(STEADY_RATE_PER_SEC_MAX, Math.floor((perSec * STEADY_LOAD_FRACTION) / 20) * 20));
    const perBatch = Math.max(1, Math.round((steadyRate * STEADY_BATCH_INTERVAL_MS) / 1000));
    const steadyReceipts = receipts.slice(THROUGHPUT_RECEIPTS, THROUGHPUT_RECEIPTS + steadyRate * STEADY_SECONDS);
    progress(`consensus: finality at ${formatCount(steadyRate)} receipts/s offered for ${STEADY_SECONDS} s`);
    const finalityMs: number[] = [];
    let steadyFailed = 0;
    const steadyErrors = new Set<string>();
    const steadyStarted = performance.now();
    const pending: Promise<void>[] = [];
    for (let b = 0; b * perBatch < steadyReceipts.length; b++) {
      const dueMs = steadyStarted + b * STEADY_BATCH_INTERVAL_MS;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      const slice = steadyReceipts.slice(b * perBatch, (b + 1) * perBatch);
      const client = cluster.clients[b % cluster.clients.length]!;
      const started = performance.now();
      pending.push(client.submit(slice, { waitForCommit: true, timeoutMs: SUBMIT_TIMEOUT_MS }).then((answers) => {
        const tookMs = performance.now() - started;
        for (const a of answers) {
          if (a.status === 'committed' && a.code === 0) finalityMs.push(tookMs);
          else steadyFailed++;
        }
      }, (error: unknown) => {
        steadyFailed += slice.length;
        steadyErrors.add((error as Error).message.slice(0, 120));
      }));
    }
    await Promise.all(pending);
    const steadySec = (performance.now() - steadyStarted) / 1000;
    finalityMs.sort((a, b) => a - b);
    const p50 = percentile(finalityMs, 50);
    const p99 = percentile(finalityMs, 99);
    const settled = throughputSettled + finalityMs.length;

    // 4. Restart to caught up, graceful then crash.
    const logPath = join(cluster.dir, `v${VALIDATORS - 1}.log`);
    const restart = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<{ caughtUpMs: number; rpcMs: number; bootMs: number; transportMs: number; load: number; phases: StartPhases }> => {
      await cluster.stop(VALIDATORS - 1, signal);
      const logLines = readFileSync(logPath, 'utf8').split('\n').length - 1;
      const others = (await cluster.clients[0]!.status()).lastCommitted?.height ?? 0;
      const load = loadavg()[0]!;
      const started = performance.now();
      const spawnedMs = Date.now();
      cluster.start(VALIDATORS - 1);
      await cluster.waitForRpc(VALIDATORS - 1, 60_000);
      const rpcMs = performance.now() - started;
      await cluster.waitForHeight(VALIDATORS - 1, others, 60_000);
      const caughtUpMs = performance.now() - started;
      const phases = startPhases(logPath, logLines);
      return { caughtUpMs, rpcMs, bootMs: phases.restoreStartMs - spawnedMs, transportMs: phases.transportMs - spawnedMs, load, phases };
    };
    progress('consensus: restarting a validator (SIGTERM, then SIGKILL)');
    const graceful = await restart('SIGTERM');
    await sleep(2000);
    const crash = await restart('SIGKILL');
    const appHashes = await Promise.all(cluster.clients.map(async (c) => (await c.block(heightAfter))?.appHash));

    const label = `${VALIDATORS} validator processes`;
    const notSettled = (failed: number, errors: ReadonlySet<string>): string => `${failed} not settled${errors.size > 0 ? ` (${[...errors].join('; ')})` : ''}`;
    const rows: SectionRow[] = [
      {
        caseLabel: label, measure: 'receipts settled per second (saturated)', result: `${formatCount(perSec)} /s`,
        detail: `${formatCount(throughputSettled)} receipts settled (read from the ledger) in ${throughputSec.toFixed(1)} s, ${THROUGHPUT_IN_FLIGHT} batches of ${THROUGHPUT_BATCH} in flight until every mempool was empty; ` +
          `${formatCount(throughput.committed)} answered as committed within the ${SUBMIT_TIMEOUT_MS / 1000} s wait, ${notSettled(throughput.failed, throughput.errors)}; ` +
          `${heightAfter - heightBefore} blocks (${formatCount(throughputSettled / Math.max(1, heightAfter - heightBefore))} receipts per block)`,
        target: `≥ ${formatCount(RECEIPTS_TARGET_PER_SEC)} /s`, verdict: verdict(perSec >= RECEIPTS_TARGET_PER_SEC),
      },
      {
        caseLabel: label, measure: 'CPU per receipt: all validators (each verifies it) + this client', result: `${(validatorCpuPerReceiptMs * 1000).toFixed(0)} + ${(clientCpuPerReceiptMs * 1000).toFixed(0)} µs`,
        detail: `per validator ${validatorCpuMs.map((ms) => ((ms / Math.max(1, throughputSettled)) * 1000).toFixed(0)).join(' / ')} µs (main and signature threads); ` +
          `ceiling of this machine: ${cores} cores / that = ${formatCount(ceilingPerSec)} /s; ed25519 verify alone: ${verifyMicros.toFixed(0)} µs, so ${cores} cores / (${VALIDATORS} × verify) = ${formatCount(verifyCeilingPerSec)} /s`,
        target: '—', verdict: '—',
      },
      {
        caseLabel: label, measure: `finality p50 at ${formatCount(steadyRate)} receipts/s offered`, result: seconds(p50),
        detail: `steady load of ${Math.round(STEADY_LOAD_FRACTION * 100)} % of the saturated rate (at most ${formatCount(STEADY_RATE_PER_SEC_MAX)} /s): ` +
          `${formatCount(finalityMs.length)} receipts over ${steadySec.toFixed(1)} s (${formatCount(finalityMs.length / steadySec)} /s settled); ${notSettled(steadyFailed, steadyErrors)}`,
        target: `≤ ${FINALITY_P50_MS_MAX / 1000} s`, verdict: verdict(p50 <= FINALITY_P50_MS_MAX),
      },
      {
        caseLabel: label, measure: `finality p99 at ${formatCount(steadyRate)} receipts/s offered`, result: seconds(p99),
        detail: `max ${seconds(finalityMs[finalityMs.length - 1] ?? Number.NaN)}`, target: `≤ ${FINALITY_P99_MS_MAX / 1000} s`, verdict: verdict(p99 <= FINALITY_P99_MS_MAX),
      },
      {
        caseLabel: label, measure: `restart to caught up, ${formatCount(settled)} receipts settled (SIGTERM: snapshot at stop)`, result: seconds(graceful.caughtUpMs),
        detail: `spawn → restore begins ${seconds(graceful.bootMs)} (Node, module loading, configuration, genesis, chain store, libp2p start), ledger restore ${seconds(graceful.phases.restoreMs)} ` +
          `(${formatCount(graceful.phases.restoreCpuMs)} ms of CPU); libp2p listening at ${seconds(graceful.transportMs)} (before the restore); ` +
          `→ RPC answering ${seconds(graceful.rpcMs)} (${seconds(graceful.phases.runningCpuMs)} of CPU by then, all threads), → its last committed height ≥ the others' at spawn; load average ${graceful.load.toFixed(1)}`,
        target: `≤ ${RESTART_MS_MAX / 1000} s`, verdict: verdict(graceful.caughtUpMs <= RESTART_MS_MAX),
      },
      {
        caseLabel: label, measure: 'restart to caught up after SIGKILL (crash)', result: seconds(crash.caughtUpMs),
        detail: `restore begins ${seconds(crash.bootMs)}; newest snapshot restored and ${crash.phases.replayed} stored blocks replayed in ${seconds(crash.phases.restoreMs)} ` +
          `(${formatCount(crash.phases.restoreCpuMs)} ms of CPU); transport listening at ${seconds(crash.transportMs)}; RPC answering ${seconds(crash.rpcMs)} ` +
          `(${seconds(crash.phases.runningCpuMs)} of CPU by then); then caught up from peers; load average ${crash.load.toFixed(1)}`,
        target: '— (the target is for a restart)', verdict: '—',
      },
      {
        caseLabel: label, measure: 'escrows opened per second (setup)', result: `${formatCount(escrowResult.committed / escrowSec)} /s`,
        detail: `${formatCount(escrowResult.committed)} in ${escrowSec.toFixed(1)} s; ${notSettled(escrowResult.failed, escrowResult.errors)}`, target: '—', verdict: '—',
      },
      {
        caseLabel: label, measure: 'resident memory per validator after the throughput phase', result: `${rss.map((m) => m.toFixed(0)).join(' / ')} MiB`,
        detail: `agreement: app hash at height ${heightAfter} is ${new Set(appHashes).size === 1 ? 'identical on all four' : `DIFFERENT: ${appHashes.join(', ')}`}`, target: '—', verdict: '—',
      },
    ];
    return {
      name: 'consensus',
      heading: 'Settlement: validators, receipts and finality',
      intro: 'Four `orbitfed validator` processes on loopback (libp2p with noise and yamux, chain stores in SQLite with synchronous=FULL), ' +
        'written by `orbitfed validator testnet`. Clients submit over each validator\'s RPC, round-robin. No anchor is named by the issue; ' +
        'throughput is measured at saturation and finality at a steady load below it, as CometBFT\'s loadtime does.',
      rows,
      notes: [
        `Receipts are real: each signed (ed25519) by a registered orbital node over its canonical bytes, each settling its own job's escrow (900 of 1,000 held, 4 % fee). ` +
          `Every validator verifies every receipt's signature once: in a worker thread while it waits in the mempool, or in FinalizeBlock if its block comes first. Signing happens before any clock starts.`,
        `Throughput: ${THROUGHPUT_IN_FLIGHT} concurrent batches of ${THROUGHPUT_BATCH}, each waiting for its commit before the next is sent; receipts/s is settled receipts over the wall time of the phase. ` +
          `CPU per receipt is the CPU time of the processes over the phase (/proc/<pid>/stat, every thread) divided by the receipts settled; on a machine shared with other work it is the stable number, and cores / CPU per receipt is what this machine could settle if the validators had it alone.`,
        `Finality: receipts every ${STEADY_BATCH_INTERVAL_MS} ms to the validators in turn at ${Math.round(STEADY_LOAD_FRACTION * 100)} % of the saturated rate, each batch waiting for its commit (\`POST /v1/txs?wait=commit\`); a receipt's finality is the batch's submit → answer time, so it includes the RPC, mempool gossip and the wait for the next block. At or above the saturated rate it would measure the queue instead.`,
        `Restart: the validator is stopped and started again at once; caught up means its RPC reports a last committed height at least the height the others had when it was spawned. The chain makes a block at least every second while idle.`,
        `Timeouts: propose 3 s, prevote 1 s, precommit 1 s (+0.5 s per round); commit delay (block time floor) 100 ms; at most ${formatCount(PROPOSAL_TXS_MAX_DEFAULT)} transactions per proposal.`,
      ],
    };
  } finally {
    await cluster.close();
  }
}
