import { afterEach, describe, expect, it } from 'vitest';
import { hexOf } from '../../consensus/binary-layout.ts';
import { encodeTransaction } from '../../consensus/ledger-transactions.ts';
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
    const target = h.nodes[0]!.height + 2;
    h.runUntilHeight(target);
    expect(restarted.height).toBeGreaterThan(target);
    expectAgreement(h, target);
    expect(hexOf(restarted.ledger.stateHash())).toBe(hexOf(h.nodes[0]!.ledger.stateHash()));
  });

  it('an isolated validator stops deciding alone and rejoins after the partition heals', () => {
    const h = (harness = new ValidatorHarness(11));
    for (let i = 0; i < 4; i++) h.start(i);
    h.runUntilHeight(3);
    h.isolated.add(0);
    const isolatedAt = h.nodes[0]!.height;
    h.run(10_000);
    expect(h.nodes[0]!.height).toBe(isolatedAt);
    expect(h.nodes[1]!.height).toBeGreaterThan(isolatedAt);
    h.isolated.clear();
    h.runUntilHeight(h.nodes[1]!.height + 2);
    expectAgreement(h, h.nodes[1]!.height - 1);
  });
});
