// Each validator verifies each receipt signature once: SignatureVerdicts remembers ed25519Verify's
// answers for exact bytes, and the signature workers compute them off the validator's thread.
import { afterEach, describe, expect, it } from 'vitest';
import { ed25519Signer, ed25519Verify } from '../../consensus/ed25519.ts';
import { SignatureVerdicts } from '../../consensus/signature-verdicts.ts';
import { packJobs, SignatureWorkerPool, unpackJobs, type SignatureJob } from '../../consensus/signature-worker-pool.ts';
import { seedOf } from './ledger-world.ts';

const signer = ed25519Signer(seedOf('signature-verdicts'));
const message = (i: number): Uint8Array => new TextEncoder().encode(`usage receipt ${i}`);
const job = (i: number): SignatureJob => ({ publicKey: signer.publicKey, message: message(i), signature: signer.sign(message(i)) });
const forged = (i: number): SignatureJob => {
  const honest = job(i);
  const signature = new Uint8Array(honest.signature);
  signature[5]! ^= 0x01;
  return { ...honest, signature };
};

describe('signature verdicts (each signature verified once per validator)', () => {
  it('answers as ed25519Verify does, and from memory the second time', () => {
    const verdicts = new SignatureVerdicts();
    const good = job(1);
    const bad = forged(2);
    expect(verdicts.verify(good.publicKey, good.message, good.signature)).toBe(true);
    expect(verdicts.verify(bad.publicKey, bad.message, bad.signature)).toBe(false);
    expect(verdicts.stats).toEqual({ hits: 0, misses: 2 });
    expect(verdicts.verify(good.publicKey, good.message, good.signature)).toBe(true);
    expect(verdicts.verify(bad.publicKey, bad.message, bad.signature)).toBe(false);
    expect(verdicts.stats).toEqual({ hits: 2, misses: 2 });
  });

  it('verifies afresh a remembered signature presented over other bytes (and refuses it)', () => {
    const verdicts = new SignatureVerdicts();
    const good = job(3);
    verdicts.record(good.publicKey, good.message, good.signature, true);
    const otherMessage = message(4);
    expect(ed25519Verify(good.publicKey, otherMessage, good.signature)).toBe(false);
    expect(verdicts.verify(good.publicKey, otherMessage, good.signature)).toBe(false);
    expect(verdicts.stats.misses).toBe(1);
    // Same length, one bit different: still a different message.
    const flipped = new Uint8Array(good.message);
    flipped[0]! ^= 0x01;
    expect(verdicts.verify(good.publicKey, flipped, good.signature)).toBe(false);
    expect(verdicts.stats).toEqual({ hits: 0, misses: 2 });
  });

  it('verifies afresh a remembered signature presented under another key (and refuses it)', () => {
    const verdicts = new SignatureVerdicts();
    const good = job(5);
    verdicts.record(good.publicKey, good.message, good.signature, true);
    const otherKey = ed25519Signer(seedOf('another node')).publicKey;
    expect(verdicts.has(otherKey, good.message, good.signature)).toBe(false);
    expect(verdicts.verify(otherKey, good.message, good.signature)).toBe(false);
    expect(verdicts.stats).toEqual({ hits: 0, misses: 1 });
  });

  it('keeps at most entriesMax verdicts, dropping the oldest', () => {
    const verdicts = new SignatureVerdicts(3);
    const jobs = [0, 1, 2, 3].map(job);
    for (const j of jobs) verdicts.record(j.publicKey, j.message, j.signature, true);
    expect(verdicts.size).toBe(3);
    expect(verdicts.has(jobs[0]!.publicKey, jobs[0]!.message, jobs[0]!.signature)).toBe(false);
    expect(verdicts.has(jobs[3]!.publicKey, jobs[3]!.message, jobs[3]!.signature)).toBe(true);
    expect(() => new SignatureVerdicts(0)).toThrow(/positive integer/);
  });
});

describe('signature worker pool (real worker threads)', () => {
  let pool: SignatureWorkerPool | null = null;
  afterEach(async () => {
    await pool?.stop();
    pool = null;
  });

  /** Queues `jobs` and resolves with the verdicts heard per job index, once the pool is idle. */
  async function checkAll(p: SignatureWorkerPool, jobs: readonly SignatureJob[], skip?: (job: SignatureJob) => boolean): Promise<Map<number, boolean>> {
    const heard = new Map<number, boolean>();
    const accepted = p.check(jobs, { ...(skip ? { skip } : {}), verified: (job, valid) => heard.set(jobs.indexOf(job), valid) });
    expect(accepted).toBe(true);
    while (p.pendingJobs > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return heard;
  }

  it('verifies batches larger than one message to a worker, one verdict per signature', async () => {
    pool = new SignatureWorkerPool({ threads: 2, batchJobsMax: 16 });
    pool.start();
    // 50 jobs: four batches, over two workers.
    const jobs = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? forged(i) : job(i)));
    const heard = await checkAll(pool, jobs);
    expect(heard.size).toBe(50);
    jobs.forEach((j, i) => expect(heard.get(i), `job ${i}`).toBe(ed25519Verify(j.publicKey, j.message, j.signature)));
    expect([...heard.values()].filter((v) => !v).length).toBe(7);
  });

  it('sends a batch as one packed buffer that unpacks to the same jobs', () => {
    const jobs = [job(1), forged(2), { ...job(3), message: new Uint8Array(0) }, { ...job(4), message: new Uint8Array(65_535).fill(7) }];
    const packed = packJobs(jobs);
    expect(packed.length).toBe(jobs.reduce((sum, j) => sum + 32 + 64 + 2 + j.message.length, 0));
    const unpacked = unpackJobs(packed, jobs.length);
    unpacked.forEach((j, i) => {
      expect(Buffer.from(j.publicKey).equals(jobs[i]!.publicKey)).toBe(true);
      expect(Buffer.from(j.signature).equals(jobs[i]!.signature)).toBe(true);
      expect(Buffer.from(j.message).equals(jobs[i]!.message)).toBe(true);
    });
  });

  it('leaves to FinalizeBlock, without a verdict, jobs that do not fit a packed batch (a key or signature of another length, a message above 64 KiB)', async () => {
    pool = new SignatureWorkerPool();
    pool.start();
    const misfits = [{ ...job(1), publicKey: new Uint8Array(31) }, { ...job(2), signature: new Uint8Array(65) }, { ...job(3), message: new Uint8Array(65_536) }];
    const jobs = [job(0), ...misfits, job(4)];
    const heard = await checkAll(pool, jobs);
    expect([...heard.entries()].sort(([a], [b]) => a - b)).toEqual([[0, true], [4, true]]);
  });

  it('hands verdicts over batch by batch, and skips the jobs the caller has verdicts for by then', async () => {
    pool = new SignatureWorkerPool({ batchJobsMax: 4 });
    pool.start();
    const jobs = Array.from({ length: 12 }, (_, i) => job(i));
    const known = new Set<number>();
    const order: number[] = [];
    const accepted = pool.check(jobs, {
      skip: (j) => known.has(jobs.indexOf(j)),
      verified: (j) => {
        order.push(jobs.indexOf(j));
        // The first batch's verdicts arrive before the rest are verified; meanwhile the caller
        // (FinalizeBlock, when a block outruns the workers) verified jobs 5 … 11 itself.
        if (order.length === 4) for (const i of [5, 6, 7, 8, 9, 10, 11]) known.add(i);
      },
    });
    expect(accepted).toBe(true);
    while (pool.pendingJobs > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses, at once, jobs beyond its bound of pending signatures and after it stopped', async () => {
    pool = new SignatureWorkerPool({ pendingJobsMax: 10 });
    pool.start();
    const heard: boolean[] = [];
    expect(pool.check(Array.from({ length: 10 }, (_, i) => job(i)), { verified: (_j, valid) => heard.push(valid) })).toBe(true);
    expect(pool.check([job(11)], { verified: () => expect.fail('refused jobs are not verified') })).toBe(false);
    while (pool.pendingJobs > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(heard).toEqual(Array.from({ length: 10 }, () => true));
    await pool.stop();
    expect(pool.check([job(12)], { verified: () => expect.fail('a stopped pool verifies nothing') })).toBe(false);
    expect(() => new SignatureWorkerPool({ threads: 0 })).toThrow(/threads must be a positive integer/);
  });
});
