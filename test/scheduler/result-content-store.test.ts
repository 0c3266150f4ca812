// The result content store (scheduler/result-content-store.ts) on its own, and the Range header
// reader (scheduler/http-range.ts) the download answers with.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSchedulerConfig } from '../../scheduler/index.ts';
import { parseByteRange } from '../../scheduler/http-range.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { ResultContentStore } from '../../scheduler/result-content-store.ts';
import { scratchDirectory, T0_MS } from './job-fixtures.ts';

const scratch = scratchDirectory('result-store');
afterAll(() => scratch.remove());
let files = 0;
const freshPath = (): string => join(scratch.path, `results-${files++}.db`);
const bytes = (size: number, fill: number): Uint8Array => new Uint8Array(size).fill(fill);
const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('the result content store', () => {
  it('keeps bytes with their digest, and the same assignment and bytes again write nothing', () => {
    const store = ResultContentStore.open(freshPath());
    const first = store.put({ jobId: 'j1', assignmentId: 'j1.1', bytes: bytes(100, 1) }, T0_MS);
    expect(first).toEqual({ stored: true, sha256: sha256Hex(bytes(100, 1)), dropped: [] });
    expect(store.put({ jobId: 'j1', assignmentId: 'j1.1', bytes: bytes(100, 1) }, T0_MS + 1)).toMatchObject({ stored: false, dropped: [] });
    expect(store.keptBytes).toBe(100);
    const content = store.content('j1');
    expect(content).toMatchObject({ kind: 'available', assignmentId: 'j1.1', sizeBytes: 100, storedMs: T0_MS });
    expect(content?.kind === 'available' && Buffer.from(content.bytes).equals(Buffer.from(bytes(100, 1)))).toBe(true);
    // A new attempt's result replaces the old one.
    store.put({ jobId: 'j1', assignmentId: 'j1.2', bytes: bytes(30, 2) }, T0_MS + 2);
    expect(store.keptBytes).toBe(30);
    expect(store.info('j1')).toMatchObject({ kind: 'available', assignmentId: 'j1.2', sizeBytes: 30 });
    expect(store.info('nope')).toBeUndefined();
    store.close();
  });

  it('keeps an empty result as zero bytes, not as none', () => {
    const store = ResultContentStore.open(freshPath());
    store.put({ jobId: 'empty', assignmentId: 'empty.1', bytes: new Uint8Array(0) }, T0_MS);
    const content = store.content('empty');
    expect(content).toMatchObject({ kind: 'available', sizeBytes: 0, sha256: sha256Hex(new Uint8Array(0)) });
    expect(content?.kind === 'available' && content.bytes.length).toBe(0);
    store.close();
  });

  it('drops the oldest contents past the size bound, a content larger than the bound at once, and old ones past retention', () => {
    const path = freshPath();
    const store = ResultContentStore.open(path, { bytesMax: 250, retentionMs: 1_000 });
    store.put({ jobId: 'a', assignmentId: 'a.1', bytes: bytes(100, 1) }, T0_MS);
    store.put({ jobId: 'b', assignmentId: 'b.1', bytes: bytes(100, 2) }, T0_MS + 10);
    const c = store.put({ jobId: 'c', assignmentId: 'c.1', bytes: bytes(100, 3) }, T0_MS + 20);
    expect(c.dropped).toEqual([{ jobId: 'a', sizeBytes: 100, storedMs: T0_MS, reason: 'store-full' }]);
    expect(store.info('a')).toMatchObject({ kind: 'dropped', reason: 'store-full', droppedMs: T0_MS + 20, sha256: sha256Hex(bytes(100, 1)) });
    expect(store.content('a')?.kind).toBe('dropped');
    expect(store.keptBytes).toBe(200);
    const huge = store.put({ jobId: 'huge', assignmentId: 'huge.1', bytes: bytes(251, 4) }, T0_MS + 30);
    expect(huge.dropped).toEqual([{ jobId: 'huge', sizeBytes: 251, storedMs: T0_MS + 30, reason: 'too-large' }]);
    expect(store.info('huge')).toMatchObject({ kind: 'dropped', reason: 'too-large' });
    expect(store.keptBytes).toBe(200);
    expect(store.dropExpired(T0_MS + 1_015).map((d) => d.jobId)).toEqual(['b']);
    expect(store.dropExpired(T0_MS + 1_015)).toEqual([]);
    store.close();
    // The count of kept bytes is rebuilt from the file.
    const reopened = ResultContentStore.open(path, { bytesMax: 250, retentionMs: 1_000 });
    expect(reopened.keptBytes).toBe(100);
    expect(reopened.info('c')).toMatchObject({ kind: 'available' });
    reopened.close();
  });

  it('forgets a content on request and refuses bad limits, a foreign file and a closed store with precise codes', () => {
    const store = ResultContentStore.open(freshPath());
    store.put({ jobId: 'x', assignmentId: 'x.1', bytes: bytes(10, 1) }, T0_MS);
    expect(store.remove('x')).toBe(true);
    expect(store.remove('x')).toBe(false);
    expect(store.keptBytes).toBe(0);
    store.close();
    expect(() => store.info('x')).toThrow(expect.objectContaining({ code: 'ORBITFED_RESULT_STORE_CLOSED' }));
    expect(() => ResultContentStore.open(freshPath(), { bytesMax: 0 })).toThrow(expect.objectContaining({ code: 'ORBITFED_RESULT_STORE_LIMITS' }));
    const garbage = freshPath();
    writeFileSync(garbage, 'not a database at all, just text that is long enough to have a header......................................................');
    expect(() => ResultContentStore.open(garbage)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_CORRUPT' }));
  });

  it('is opened beside the job store, and a job store file of another kind in its place is refused untouched', () => {
    const path = freshPath();
    const jobs = JobStore.open(path);
    expect(jobs.resultContents.path).toBe(`${path}.results`);
    jobs.close();
    // A job store where the results file should be: refused as a foreign SQLite file.
    const other = freshPath();
    JobStore.open(`${other}.results`).close();
    expect(() => JobStore.open(other)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_FOREIGN' }));
    // The job store it refused to pair with is closed again (its lock released).
    JobStore.open(`${other}.results`).close();
  });
});

describe('reading a Range header', () => {
  it.each([
    ['bytes=0-9', { kind: 'range', start: 0, endInclusive: 9 }],
    ['bytes=90-', { kind: 'range', start: 90, endInclusive: 99 }],
    ['bytes=90-1000', { kind: 'range', start: 90, endInclusive: 99 }],
    ['bytes=-10', { kind: 'range', start: 90, endInclusive: 99 }],
    ['bytes=-1000', { kind: 'range', start: 0, endInclusive: 99 }],
    ['BYTES=5-5', { kind: 'range', start: 5, endInclusive: 5 }],
    ['bytes=100-', { kind: 'unsatisfiable' }],
    ['bytes=100-200', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=9-1', { kind: 'whole' }],
    ['bytes=0-1,3-4', { kind: 'whole' }],
    ['items=0-1', { kind: 'whole' }],
    ['bytes=', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['bytes=1e3-', { kind: 'whole' }],
    [`bytes=${'1'.repeat(16)}-`, { kind: 'whole' }],
    [undefined, { kind: 'whole' }],
  ])('reads %s of a 100-byte content', (header, expected) => {
    expect(parseByteRange(header, 100)).toEqual(expected);
  });

  it('finds nothing satisfiable in an empty content', () => {
    expect(parseByteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('the configuration of kept results', () => {
  const file = (limits: Record<string, unknown>): string => {
    const path = join(scratch.path, `scheduler-${files++}.json`);
    writeFileSync(path, JSON.stringify({
      storePath: 'jobs.db', plan: { path: 'plan.json' }, ledger: { chainId: 'orbitfed-test' },
      tenants: [{ id: 'acme', roles: ['jobs'], apiKeySha256: 'ab'.repeat(32) }], limits,
    }));
    return path;
  };

  it('takes a size bound and a retention under limits, and the job store opens its results file with them', async () => {
    const config = await loadSchedulerConfig(file({ resultContentBytesMax: 4096, resultContentRetentionMs: 60_000 }));
    const jobs = JobStore.open(join(scratch.path, `configured-${files++}.db`), { limits: config.file.limits });
    expect(jobs.resultContents.limits).toMatchObject({ bytesMax: 4096, retentionMs: 60_000 });
    jobs.close();
    const sample = readFileSync(new URL('../../samples/scheduler.yaml', import.meta.url), 'utf8');
    expect(sample).toMatch(/resultContentBytesMax: 1073741824/);
  });

  it('refuses a bound that is not a whole number of bytes above 0, naming the field', async () => {
    for (const limits of [{ resultContentBytesMax: 0 }, { resultContentBytesMax: 1.5 }, { resultContentRetentionMs: -1 }, { resultContentBytesMax: '1GiB' }]) {
      const error = await loadSchedulerConfig(file(limits)).then(() => undefined, (e: unknown) => e as { code: string; message: string });
      expect(error?.code, JSON.stringify(limits)).toBe('ORBITFED_CONFIG_INVALID');
      expect(error?.message).toMatch(/\/limits\/resultContent(BytesMax|RetentionMs)/);
    }
  });
});
