// The job store's crash test (ARCHITECTURE, "Durability": every store has one). A writer process
// (job-store-crash-writer.ts) creates and moves jobs as fast as it can and is killed with SIGKILL at
// a random instant, again and again on the same file; after each kill the store is reopened here
// and checked against what the writers had acknowledged:
// - every job acknowledged as created is there, with its spec, its first events and the response
//   remembered under its Idempotency-Key (one commit: never a job without them);
// - every job is in the last state acknowledged for it, or the one its interrupted move was going
//   to (a TRY without an ACK may have happened or not), and never anything else;
// - a job's events end with the transition to its state (state and event log are one commit);
// - SQLite's integrity_check passes.
// What SIGKILL does not show (power loss; the OS page cache survives a killed process) is argued in
// test/dtn/bundle-store-crash.test.ts: WAL + synchronous=FULL fsyncs the log before COMMIT returns.
//
// Replay: the test prints its seed; JOB_STORE_CRASH_SEED=<seed> replays the writers' operations and
// kill delays (instants vary with scheduling); JOB_STORE_CRASH_KILLS sets the kills (default 40).
import { spawn } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { jobSpec } from './job-fixtures.ts';
import { scratchDirectory } from './job-fixtures.ts';

const WRITER = fileURLToPath(new URL('./job-store-crash-writer.ts', import.meta.url));
const KILLS = Number(process.env.JOB_STORE_CRASH_KILLS ?? 40);
const SEED = Number(process.env.JOB_STORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32));
const KILL_WINDOW_MS = 60;

const scratch = scratchDirectory('job-store-crash');
afterAll(() => scratch.remove());

interface Expected {
  /** States the job may be in after the last kill. */
  allowed: Set<string>;
  created: 'yes' | 'maybe';
}

async function runWriter(dbPath: string, writer: number, delayMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [WRITER, dbPath, String(SEED), String(writer)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let waited = 0; !out.includes('READY') && waited < 10_000; waited += 2) {
    if (child.exitCode !== null) break;
    await sleep(2);
  }
  if (!out.includes('READY')) throw new Error(`writer ${writer} did not start: ${err}`);
  await sleep(delayMs);
  child.kill('SIGKILL');
  await exited;
  return out.split('\n');
}

describe('the job store under kill -9', () => {
  it(`keeps every acknowledged job, state and event across ${KILLS} kills at random instants`, async () => {
    console.log(`job-store crash test: seed ${SEED}, ${KILLS} kills (replay: JOB_STORE_CRASH_SEED=${SEED})`);
    const rng = seededRng(SEED);
    const dbPath = join(scratch.path, 'jobs.db');
    const expected = new Map<string, Expected>();
    let acks = 0;
    for (let writer = 0; writer < KILLS; writer += 1) {
      const lines = await runWriter(dbPath, writer, rng() * KILL_WINDOW_MS);
      for (const line of lines) {
        const [verb, op, id, state] = line.split(' ');
        if (verb !== 'TRY' && verb !== 'ACK') continue;
        if (verb === 'ACK') acks += 1;
        if (op === 'create') {
          expected.set(id!, { allowed: new Set(['placed']), created: verb === 'ACK' ? 'yes' : 'maybe' });
        } else if (verb === 'TRY') {
          expected.get(id!)!.allowed.add(state!);
        } else {
          expected.get(id!)!.allowed = new Set([state!]);
        }
      }

      const store = JobStore.open(dbPath);
      try {
        for (const [id, want] of expected) {
          const job = store.job(id);
          if (job === undefined) {
            expect(want.created, `job ${id} was acknowledged but is missing after kill ${writer}`).toBe('maybe');
            expected.delete(id);
            continue;
          }
          want.created = 'yes';
          expect(want.allowed.has(job.state), `job ${id} is ${job.state}, allowed ${[...want.allowed].join('/')}`).toBe(true);
          want.allowed = new Set([job.state]);
          expect(job.spec).toEqual(jobSpec({ name: id }));
          const events = store.events(id, 100, undefined).items;
          expect(events.slice(0, 2).map((e) => e.type)).toEqual(['submitted', 'placed']);
          expect(events.at(-1)!.toState).toBe(job.state);
          expect(store.idempotentResponse(job.tenantId, `key-${id}`, 1_781_395_200_000)?.body).toEqual({ id });
        }
      } finally {
        store.close();
      }
    }
    const check = new DatabaseSync(dbPath);
    expect(check.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    check.close();
    expect(acks).toBeGreaterThan(KILLS);
  });
});
