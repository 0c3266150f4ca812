// The process job-store-crash.test.ts kills. It opens the job store and works it as the API would,
// as fast as it can, until SIGKILL: creates jobs (each with its first events and the response
// remembered under its Idempotency-Key, one commit) and moves earlier ones through their states.
// Around every operation it writes one line to stdout with a synchronous write:
//   TRY <op> <job> [state]   before the call: from here on the operation may or may not happen;
//   ACK <op> <job> [state]   after the call returned: what a client was told.
// Usage: node job-store-crash-writer.ts <db> <seed> <writer>
import { writeSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { seededRng } from '../../common/index.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { CRASH_NEXT_STATE, crashJob, CRASH_OPS_MAX } from './job-store-crash-jobs.ts';

const [dbPath, seedText, writerText] = process.argv.slice(2);
const writer = Number(writerText);
const rng = seededRng((Number(seedText) + Math.imul(writer, 0x9e3779b1)) >>> 0);
const say = (text: string): void => {
  writeSync(1, `${text}\n`);
};

flushCompileCache();
const store = JobStore.open(dbPath!);
say('READY');
const mine: { id: string; state: keyof typeof CRASH_NEXT_STATE }[] = [];
for (let op = 0; op < CRASH_OPS_MAX; op += 1) {
  const nowMs = 1_781_395_200_000 + op;
  if (mine.length === 0 || rng() < 0.5) {
    const { job, events, idempotency } = crashJob(writer, op);
    say(`TRY create ${job.id}`);
    store.createJob(job, events, nowMs, idempotency);
    say(`ACK create ${job.id}`);
    mine.push({ id: job.id, state: 'placed' });
    continue;
  }
  const pick = mine[Math.floor(rng() * mine.length)]!;
  const next = CRASH_NEXT_STATE[pick.state];
  if (next === undefined) continue;
  say(`TRY move ${pick.id} ${next}`);
  store.transition(pick.id, pick.state, { state: next }, [{ type: next, fromState: pick.state, toState: next }], nowMs);
  say(`ACK move ${pick.id} ${next}`);
  pick.state = next;
}
store.close();
say('DONE');
