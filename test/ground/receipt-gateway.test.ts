// The station's receipt gateway (ground/receipt-gateway.ts) against a real `orbitfed validator`
// process (test/consensus/validator-cluster.ts, one validator): receipts delivered while the
// validator is down are kept on disk, across a restart of the gateway, and settle once it is up; the
// same receipt again settles nothing more; malformed receipts are refused with their decoder's code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, silentLogger, unixMs } from '../../common/index.ts';
import { encodeSignedReceipt, encodeTransaction, makeReceipt, signReceipt, ValidatorClient } from '../../consensus/index.ts';
import { ReceiptGateway, ReceiptQueue, type ReceiptAnswer } from '../../ground/index.ts';
import { ValidatorCluster } from '../consensus/validator-cluster.ts';

const clock = new RealClock();
let cluster: ValidatorCluster;
let dir: string;

beforeAll(async () => {
  cluster = await ValidatorCluster.create({ validators: 1, nodes: ['sat-1'], configExtras: { emptyBlockIntervalMs: 200, commitDelayMs: 20 } });
  dir = mkdtempSync(join(tmpdir(), 'orbitfed-receipts-'));
});

const running: ReceiptGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop();
});

afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function receiptBytes(job: string, sequence: number, amountMinor = 900n): Uint8Array {
  const receipt = makeReceipt({
    chainId: 'orbitfed-cluster', nodeId: 'sat-1', keyEpoch: 0, sequence, jobId: job, amountMinor, currency: 'EUR', createdAtMs: unixMs(Date.now()),
    usage: { cpuMs: 1200, memoryByteSeconds: 4_000_000n, diskByteSeconds: 0n, gpuMs: 0, egressBytes: 512n },
  });
  return encodeSignedReceipt(signReceipt(receipt, cluster.testnet.nodeSeeds.get('sat-1')!));
}

function gateway(answers: ReceiptAnswer[]): ReceiptGateway {
  return new ReceiptGateway({
    queuePath: join(dir, 'receipts.sqlite'), validators: cluster.testnet.rpcUrls.map((url) => new ValidatorClient(url)), clock, logger: silentLogger(),
    limits: { retryDelayMs: 100, retryDelayMaxMs: 400, commitWaitMs: 5_000 }, onAnswered: (answer) => answers.push(answer),
  });
}

describe('the receipt gateway against a real validator', () => {
  it('keeps receipts on disk while the validator is down, across a restart of the gateway, and settles them once it is up', async () => {
    const answers: ReceiptAnswer[] = [];
    const first = gateway(answers);
    running.push(first);
    first.start();
    const bytes = receiptBytes('job-7.1', 1);
    expect(first.accept(bytes, 'ipn:1000025544.0')).toEqual({ accepted: true, name: 'sat-1#1', duplicate: false });
    expect(first.accept(bytes, 'ipn:1000025544.0')).toEqual({ accepted: true, name: 'sat-1#1', duplicate: true });
    await until('two failed rounds', () => first.stats().failedRounds >= 2);
    expect(first.stats()).toMatchObject({ pending: 1, received: 1, duplicates: 1 });
    expect(first.stats().lastError).toContain(cluster.testnet.rpcUrls[0]!);
    await first.stop();

    // The validator comes up; the tenant's escrow for the job is opened on the ledger.
    cluster.start(0);
    await cluster.waitForRpc(0);
    const client = cluster.clients[0]!;
    const [opened] = await client.submit([encodeTransaction({
      kind: 'escrow-open', escrowId: 'escrow-job-7.1', jobId: 'job-7.1', tenantAccountId: 'tenant-a', providerAccountId: 'sat-1-earnings', amountMinor: 1_000n,
      deadlineMs: Date.now() + 72 * 3_600_000,
    })], { waitForCommit: true, timeoutMs: 20_000 });
    expect(opened).toMatchObject({ status: 'committed', code: 0 });

    // A new gateway on the same queue file finds the receipt and settles it.
    const second = gateway(answers);
    running.push(second);
    second.start();
    expect(second.stats().pending).toBe(1);
    await until('the receipt settled', () => answers.length === 1);
    expect(answers[0]).toMatchObject({ name: 'sat-1#1', outcome: 'settled', code: 0 });
    expect(second.stats().pending).toBe(0);
    const escrow = await client.escrowOfJob('job-7.1');
    expect(escrow?.['status']).toBe('posted');
    // 900 posted: the provider gets 900 − ⌈900 × 4 %⌉ = 864.
    expect((await client.account('sat-1-earnings'))?.['balanceMinor']).toBe('864');

    // The same receipt delivered again (another station's copy, a duplicate bundle) settles nothing more.
    expect(second.accept(bytes, 'ipn:1000025544.0')).toMatchObject({ accepted: true, duplicate: false });
    await until('the second copy answered', () => answers.length === 2);
    expect(['already-settled', 'committed-earlier']).toContain(answers[1]!.outcome);
    expect((await client.account('sat-1-earnings'))?.['balanceMinor']).toBe('864');

    // A receipt the ledger refuses (no escrow for its job) is answered and leaves the queue.
    second.accept(receiptBytes('job-unknown.1', 2), 'ipn:1000025544.0');
    await until('the refusal', () => answers.length === 3);
    expect(answers[2]).toMatchObject({ name: 'sat-1#2', outcome: 'rejected' });
    expect(answers[2]!.log).toContain('ORBITFED_LEDGER_UNKNOWN_JOB');
    expect(second.stats()).toMatchObject({ pending: 0, answered: { settled: 1, rejected: 1 } });
    await second.stop();
  }, 120_000);

  it('refuses malformed receipts with the decoder\'s code, storing nothing', async () => {
    const g = gateway([]);
    running.push(g);
    g.start();
    const good = receiptBytes('job-8.1', 3);
    const trailing = new Uint8Array([...good, 0x00]);
    const truncated = good.subarray(0, good.length - 10);
    const tampered = Uint8Array.from(good);
    tampered[1] = 0x1f; // the version field: a text where a uint belongs, or a wrong version
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'ORBITFED_RECEIPT_TRUNCATED'],
      [new Uint8Array(2048), 'ORBITFED_RECEIPT_TOO_LARGE'],
      [trailing, 'ORBITFED_RECEIPT_TRAILING_BYTES'],
      [truncated, 'ORBITFED_RECEIPT_TRUNCATED'],
      [new TextEncoder().encode('{"receipt":1}'), 'ORBITFED_RECEIPT_'],
      [tampered, 'ORBITFED_RECEIPT_'],
    ];
    for (const [payload, code] of cases) {
      const verdict = g.accept(payload, 'ipn:5.0');
      expect(verdict.accepted).toBe(false);
      if (!verdict.accepted) expect(verdict.code.startsWith(code)).toBe(true);
    }
    expect(g.stats()).toMatchObject({ pending: 0, malformed: cases.length, received: 0 });
    await g.stop();
  });

  it('refuses to start on a file that is not a receipt queue, and throws rather than drop a receipt at its bound', async () => {
    const other = join(dir, 'bound.sqlite');
    const queue = ReceiptQueue.open(other, { receiptsMax: 1 });
    queue.put('sat-1#10', receiptBytes('job-9.1', 10), 1);
    expect(() => queue.put('sat-1#11', receiptBytes('job-9.1', 11), 2)).toThrow(expect.objectContaining({ code: 'ORBITFED_RECEIPTS_FULL' }));
    expect(queue.size).toBe(1);
    queue.close();
    const notAQueue = join(dir, 'not-a-queue.sqlite');
    writeFileSync(notAQueue, 'this is not SQLite');
    expect(() => ReceiptQueue.open(notAQueue)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_CORRUPT' }));
  });
});
