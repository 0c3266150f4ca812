// The orbital agent as its users run it, `orbitfed orbital-agent --config FILE`, killed with SIGKILL
// at random points while a ground station (this process: a real BundleAgent with TCPCLv4 on
// loopback) feeds it assignments, then restarted on the same data directory, again and again.
// Checked: nothing acknowledged is lost (every assignment the node's store took ends with exactly
// one finished report), no assignment runs twice (each workload appends its assignment id to a
// file before it does anything else), every report, result and receipt verifies, and a message
// sent more than once after a crash is the same bytes each time. Also: /metrics answers, and
// SIGTERM stops the process cleanly (exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock, seededRng } from '../../common/index.ts';
import { ContactPlan, formatContactPlan } from '../../contact-plans/index.ts';
import { RECEIPT_VALIDITY_MS_MAX, verifyReceipt } from '../../consensus/index.ts';
import type { BundleAgent } from '../../dtn/index.ts';
import { encodeJobAssignment, signJobAssignment, verifyJobResult, verifyNodeReport, SERVICE_NUMBERS } from '../../scheduler/index.ts';
import { assignmentOf, CHAIN_ID, HOUR_MS, NODE_PUBLIC_KEY, NODE_SEED, SCHEDULER_SEED } from './assignment-fixtures.ts';
import { agentConfigFile, freePort, linkContacts, SATELLITE, scratchDirectory, startTcpclGround } from './orbital-harness.ts';

const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));
const SEED = 20_260_614;
const JOBS = 12;
const KILLS = 6;
const LOAD_TIMEOUT_MS = 30_000;

interface Run {
  readonly child: ChildProcess;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function startAgent(configPath: string): Run {
  const child = spawn(process.execPath, [ORBITFED, 'orbital-agent', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  const run: Run = { child, stderr: '', exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr = (run.stderr + chunk).slice(-200_000);
  });
  return run;
}

async function until(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  while (!condition()) {
    if (Date.now() > deadlineMs) return false;
    await sleep(20);
  }
  return true;
}

describe('orbitfed orbital-agent under kill -9', () => {
  let dir = '';
  let ground: BundleAgent | undefined;
  afterAll(async () => {
    await ground?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged and runs no assignment twice across ${KILLS} kills at random points (seed ${SEED})`, async () => {
    console.log(`orbital agent crash test: seed ${SEED}`);
    const rng = seededRng(SEED);
    dir = await scratchDirectory('orbitfed-orbital-crash-');
    const clock = new RealClock();
    const [groundPort, agentPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const plan = new ContactPlan({ epochMs: clock.now() - 1_000, nodes: [], contacts: linkContacts(0, 86_400) });
    writeFileSync(join(dir, 'plan.json'), formatContactPlan(plan, 'json'));
    writeFileSync(join(dir, 'node.key'), `${Buffer.from(NODE_SEED).toString('hex')}\n`, { mode: 0o600 });
    const runsPath = join(dir, 'runs.log');
    const config = agentConfigFile(agentPort, groundPort, {
      limits: { concurrentJobs: 2, jobTimeMsMax: 60_000 }, telemetryPeriodMs: 500, heartbeatPeriodMs: 300, logLevel: 'warn', metricsPort,
    });
    const configPath = join(dir, 'orbital-agent.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    const started = await startTcpclGround({ dir, plan, clock, agentPort, groundPort, store: { capacityBytes: 256 * 1024 * 1024, capacityBundles: 100_000 } });
    ground = started.ground;
    const { record } = started;
    const now = clock.now();
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const assignmentId = `job-${i}.1`;
      ids.push(assignmentId);
      const assignment = assignmentOf({
        assignmentId, jobId: `job-${i}`, ledgerJobId: assignmentId, issuedAtMs: now, notAfterMs: now + HOUR_MS, deadlineMs: now + 2 * HOUR_MS,
        workload: { ...assignmentOf().workload, command: ['/bin/sh', '-c', `echo "$ORBITFED_ASSIGNMENT_ID" >> ${runsPath}; sleep 0.${2 + (i % 5)}; echo done`], timeoutMs: 30_000 },
      });
      ground.send({ destination: `ipn:${SATELLITE}.${SERVICE_NUMBERS.assignments}`, payload: encodeJobAssignment(signJobAssignment(assignment, SCHEDULER_SEED)), lifetimeMs: HOUR_MS });
    }

    const stderrs: string[] = [];
    let run = startAgent(configPath);
    let metricsText = '';
    for (let kill = 0; kill < KILLS; kill++) {
      const started = await until(() => run.stderr.includes('orbital agent running'), Date.now() + LOAD_TIMEOUT_MS);
      expect(started, run.stderr).toBe(true);
      if (kill === 0) metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // A random point: from just after start to well into the jobs (each runs 0.2–0.6 s).
      await sleep(50 + Math.floor(rng() * 900));
      run.child.kill('SIGKILL');
      await run.exited;
      stderrs.push(run.stderr);
      run = startAgent(configPath);
    }
    const finishedAll = (): boolean => ids.every((id) => record.finished(id) !== undefined);
    const done = await until(finishedAll, Date.now() + 60_000);
    const last = run;
    expect(await until(() => last.stderr.includes('orbital agent running'), Date.now() + LOAD_TIMEOUT_MS), last.stderr).toBe(true);
    run.child.kill('SIGTERM');
    const exitCode = await run.exited;
    stderrs.push(run.stderr);
    const logs = stderrs.join('\n--- restart ---\n');
    expect(done, `not every job finished:\n${logs.slice(-4000)}`).toBe(true);
    expect(exitCode, logs.slice(-4000)).toBe(0);
    expect(metricsText).toContain('orbitfed_orbital_jobs{state="waiting"}');

    // No assignment ran twice.
    const runs = existsSync(runsPath) ? readFileSync(runsPath, 'utf8').trim().split('\n').filter((l) => l !== '') : [];
    const runCounts = new Map<string, number>();
    for (const id of runs) runCounts.set(id, (runCounts.get(id) ?? 0) + 1);
    expect([...runCounts].filter(([, n]) => n > 1)).toEqual([]);

    // Every report verifies; a report resent after a crash is the same bytes (same sequence, same signature).
    expect(record.reports.every((r) => verifyNodeReport(r, NODE_PUBLIC_KEY))).toBe(true);
    const bySequence = new Map<number, string>();
    for (const bytes of record.raw.get(SERVICE_NUMBERS.reports) ?? []) {
      const hex = Buffer.from(bytes).toString('hex');
      const sequence = record.reports[(record.raw.get(SERVICE_NUMBERS.reports) ?? []).indexOf(bytes)]!.report.sequence;
      expect(bySequence.get(sequence) ?? hex).toBe(hex);
      bySequence.set(sequence, hex);
    }
    const outcomes = new Map<string, string>();
    for (const id of ids) {
      const finished = new Set(record.reportsOf(id).filter((r) => r.kind === 'finished').map((r) => r.sequence));
      expect(finished.size, `${id} finished reports`).toBe(1);
      const report = record.finished(id)!;
      outcomes.set(id, report.finished!.outcome);
      // A job that succeeded ran exactly once; a lost one at most once (it may have been killed before or after starting).
      if (report.finished!.outcome === 'succeeded') expect(runCounts.get(id), id).toBe(1);
      else expect(report).toMatchObject({ reasonCode: 'agent-restarted', finished: { outcome: 'lost' } });
    }
    console.log(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // Results and receipts: one (distinct) per job that ran to its end; all verify.
    const succeeded = ids.filter((id) => outcomes.get(id) === 'succeeded');
    expect(succeeded.length).toBeGreaterThan(0);
    expect([...new Set(record.results.map((r) => r.result.assignmentId))].sort()).toEqual([...succeeded].sort());
    expect(record.results.every((r) => verifyJobResult(r, NODE_PUBLIC_KEY) && Buffer.from(r.result.bytes).toString() === 'done\n')).toBe(true);
    const context = {
      chainId: CHAIN_ID, blockTimeMs: clock.now(), graceMs: 600_000, clockSkewMsMax: 300_000, validityMsMax: RECEIPT_VALIDITY_MS_MAX,
      keyOf: () => ({ kind: 'key' as const, publicKey: NODE_PUBLIC_KEY }),
    };
    expect(record.receipts.every((r) => verifyReceipt(r, context).ok)).toBe(true);
    const receiptsByJob = new Map<string, Set<number>>();
    for (const r of record.receipts) receiptsByJob.set(r.receipt.jobId, (receiptsByJob.get(r.receipt.jobId) ?? new Set()).add(r.receipt.sequence));
    expect([...receiptsByJob.keys()].sort()).toEqual([...succeeded].sort());
    expect([...receiptsByJob.values()].every((s) => s.size === 1)).toBe(true);
  }, 240_000);
});
