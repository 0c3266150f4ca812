import { afterEach, describe, expect, it } from 'vitest';
import { hexOf } from '../../consensus/binary-layout.ts';
import { txHashOf } from '../../consensus/ledger-application-hash.ts';
import { encodeTransaction } from '../../consensus/ledger-transactions.ts';
import { SignatureWorkerPool } from '../../consensus/signature-worker-pool.ts';
import { escrowTx, receiptTx, ValidatorHarness } from './validator-harness.ts';

let harness: ValidatorHarness | null = null;
afterEach(() => {
  harness?.close();
  harness = null;
});

/** Every running validator stored the same blocks and app hashes up to `height`. */
function expectAgreement(h: ValidatorHarness, height: number): void {
  const running = h.stores.filter((s) => s !== null);
  for (let k = 1; k <= height; k++) {
    const blocks = running.map((s) => s.block(k));
    for (const b of blocks) {
      expect(b?.blockId, `height ${k}`).toBe(blocks[0]!.blockId);
      expect(b?.appHash, `app hash at ${k}`).toBe(blocks[0]!.appHash);
    }
  }
}

describe('validator node (the shell around the Tendermint core, on an in-memory network)', () => {
  it('four validators decide blocks, settle receipts exactly once and agree on the app hash', () => {
    const h = (harness = new ValidatorHarness(1));
    for (let i = 0; i < 4; i++) h.start(i);
    const jobs = 40;
    for (let job = 0; job < jobs; job++) h.nodes[job % 4]!.submit(encodeTransaction(escrowTx(job)));
    h.runUntilHeight(3);
    const receipts = Array.from({ length: jobs }, (_, job) => encodeTransaction(receiptTx(job, h.clock.now())));
    // Each receipt is sent to two validators and once more later: it still settles once.
    receipts.forEach((tx, job) => {
      h.nodes[job % 4]!.submit(tx);
      h.nodes[(job + 1) % 4]!.submit(tx);
    });
    h.run(5_000);
    for (const tx of receipts) expect(['committed', 'duplicate']).toContain(h.nodes[0]!.submit(tx).admission);
    h.run(3_000);
    const height = Math.min(...h.nodes.map((n) => n!.height)) - 1;
    expectAgreement(h, height);
    const ledger = h.nodes[0]!.ledger;
    for (let job = 0; job < jobs; job++) expect(ledger.escrowOfJob(`job-${job}`)?.status, `job ${job}`).toBe('posted');
    // 40 × 900 paid out of 40 × 1,000 held: fee 4 % rounded up (36), provider 864 each, 100 back to the tenant each.
    expect(ledger.account('sat-1-earnings')!.balanceMinor).toBe(40n * 864n);
    expect(ledger.account('fee-EUR')!.balanceMinor).toBe(40n * 36n);
    expect(ledger.account('tenant-a')!.balanceMinor).toBe(10n ** 12n - 40n * 900n);
    const status = h.nodes[1]!.txStatus(hexOf(new Uint8Array(0)));
    expect(status.status).toBe('unknown');
  });

  it('keeps deciding with 30 % loss and 50 % duplication, and all validators agree', () => {
    const h = (harness = new ValidatorHarness(7, { dropProbability: 0.3, duplicateProbability: 0.5, delayMsMax: 200 }));
    for (let i = 0; i < 4; i++) h.start(i);
    for (let job = 0; job < 20; job++) h.nodes[job % 4]!.submit(encodeTransaction(escrowTx(job)));
    h.runUntilHeight(8, 300_000);
    expectAgreement(h, 8);
    expect(h.nodes[2]!.ledger.escrows().length).toBe(20);
  });

  it('a validator that crashes restarts from its files, replays from its snapshot and catches up', () => {
    const h = (harness = new ValidatorHarness(3));
    for (let i = 0; i < 4; i++) h.start(i);
    for (let job = 0; job < 10; job++) h.nodes[0]!.submit(encodeTransaction(escrowTx(job)));
    h.runUntilHeight(7);
    h.crash(3);
    // The other three (30 of 40 power > 2/3) go on without it.
    for (let job = 10; job < 20; job++) h.nodes[1]!.submit(encodeTransaction(escrowTx(job)));
    const before = h.nodes[0]!.height;
    h.runUntilHeight(before + 6);
    const restarted = h.start(3);
    // Its last committed block is the newest it stored, from the start (before any new decision).
    expect(restarted.lastCommitted?.height).toBe(restarted.height - 1);
    expect(restarted.lastCommitted?.blockId).toBe(h.stores[3]!.block(restarted.height - 1)!.blockId);
    const target = h.nodes[0]!.height + 2;
    h.runUntilHeight(target);
    expect(restarted.height).toBeGreaterThan(target);
    expectAgreement(h, target);
    expect(hexOf(restarted.ledger.stateHash())).toBe(hexOf(h.nodes[0]!.ledger.stateHash()));
  });

  it('on an idle chain, a transaction whose gossip was lost commits within the block time, not the empty-block interval', () => {
    const h = (harness = new ValidatorHarness(17));
    for (let i = 0; i < 4; i++) h.start(i, { emptyBlockIntervalMs: 30_000 });
    h.runUntilHeight(2);
    h.lostKinds.add('txs');
    // Each validator in turn receives a transaction no other one hears of: only it leaves the idle
    // wait early; the others learn of the next height from its messages (its proposal or its votes).
    for (let k = 0; k < 4; k++) {
      h.run(1_000);
      const tx = encodeTransaction(escrowTx(100 + k));
      const submittedMs = h.clock.now();
      expect(h.nodes[k]!.submit(tx).admission).toBe('added');
      while (h.nodes[k]!.submit(tx).admission !== 'committed') {
        expect(h.clock.now() - submittedMs, `validator ${k}'s transaction`).toBeLessThan(5_000);
        h.run(50);
      }
    }
    expectAgreement(h, Math.min(...h.nodes.map((n) => n!.height)) - 1);
  });

  it('a restarted validator that is behind applies the commits of idle heights back to back, without the block-time floor of each', () => {
    const h = (harness = new ValidatorHarness(5));
    for (let i = 0; i < 4; i++) h.start(i);
    h.runUntilHeight(3);
    h.crash(3);
    // Six empty heights without it: the others wait emptyBlockIntervalMs (500 ms) after each.
    h.runUntilHeight(h.nodes[0]!.height + 6);
    const target = h.nodes[0]!.lastCommitted!.height;
    const restarted = h.start(3);
    expect(target - restarted.height).toBeGreaterThanOrEqual(5);
    // Waiting out the floor after each would take ≥ 2.5 s; the commits come 8 per answer.
    h.run(1000);
    expect(restarted.lastCommitted?.height ?? 0).toBeGreaterThanOrEqual(target);
    expectAgreement(h, target);
  });

  it('verifies each receipt signature once per validator: in its worker while the receipt waits, not again in FinalizeBlock', async () => {
    const pools = Array.from({ length: 4 }, () => new SignatureWorkerPool());
    for (const pool of pools) pool.start();
    try {
      const h = (harness = new ValidatorHarness(5));
      for (let i = 0; i < 4; i++) h.start(i, { signaturePrecheck: pools[i]! });
      const jobs = 21;
      for (let job = 0; job < jobs; job++) h.nodes[job % 4]!.submit(encodeTransaction(escrowTx(job)));
      h.runUntilHeight(3);
      // Workers answer in real time, the cluster runs on virtual time: let them finish between steps.
      const settle = async (): Promise<void> => {
        do await new Promise((resolve) => setTimeout(resolve, 1));
        while (pools.some((p) => p.pendingJobs > 0));
        await new Promise((resolve) => setTimeout(resolve, 1));
      };
      const receipts = Array.from({ length: jobs - 1 }, (_, job) => receiptTx(job, h.clock.now()));
      const honest = receiptTx(jobs - 1, h.clock.now());
      if (honest.kind !== 'settle-receipt') throw new Error('a receipt transaction');
      const signature = new Uint8Array(honest.receipt.signature);
      signature[7]! ^= 0x01;
      const forgedTx = encodeTransaction({ ...honest, receipt: { ...honest.receipt, signature } });
      for (const tx of receipts) h.nodes[0]!.submit(encodeTransaction(tx));
      h.nodes[1]!.submit(forgedTx);
      const endMs = h.clock.now() + 4000;
      while (h.clock.now() < endMs) {
        await settle();
        h.run(5);
      }
      const ledger = h.nodes[2]!.ledger;
      for (let job = 0; job < jobs - 1; job++) expect(ledger.escrowOfJob(`job-${job}`)?.status, `job ${job}`).toBe('posted');
      const forged = h.nodes[3]!.txStatus(txHashOf(forgedTx));
      expect(forged.status === 'committed' && forged.code).toBe(3);
      expect(forged.status === 'committed' && forged.log).toMatch(/^ORBITFED_RECEIPT_BAD_SIGNATURE/);
      for (const node of h.nodes) expect(node!.signatureStats).toEqual({ hits: jobs, misses: 0 });
    } finally {
      await Promise.all(pools.map((p) => p.stop()));
    }
  });

  it('proposes at most proposalTxsMax transactions per block, and the rest follow in the next blocks', () => {
    const h = (harness = new ValidatorHarness(13));
    for (let i = 0; i < 4; i++) h.start(i, { proposalTxsMax: 4 });
    const startHeight = h.nodes[0]!.height;
    for (let job = 0; job < 30; job++) h.nodes[job % 4]!.submit(encodeTransaction(escrowTx(job)));
    h.runUntilHeight(startHeight + 12);
    const store = h.stores[0]!;
    const sizes = Array.from({ length: store.height }, (_, k) => store.block(k + 1)!.block.txs.length);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
    expect(h.nodes[0]!.ledger.escrows().length).toBe(30);
  });

  it('an isolated validator stops deciding alone and rejoins after the partition heals', () => {
    const h = (harness = new ValidatorHarness(11));
    for (let i = 0; i < 4; i++) h.start(i);
    h.runUntilHeight(3);
    h.isolated.add(0);
    // What it had decided before the cut it still commits; it decides nothing after.
    const committedAt = h.nodes[0]!.lastCommitted!.height;
    h.run(10_000);
    expect(h.nodes[0]!.lastCommitted!.height).toBe(committedAt);
    expect(h.nodes[1]!.lastCommitted!.height).toBeGreaterThan(committedAt + 1);
    h.isolated.clear();
    h.runUntilHeight(h.nodes[1]!.height + 2);
    expectAgreement(h, h.nodes[1]!.height - 1);
  });
});
