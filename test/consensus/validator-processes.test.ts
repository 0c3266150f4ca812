// Four `orbitfed validator` processes on loopback settle receipts; one is killed (SIGKILL) and
// restarted from its files while the others go on; all agree afterwards; bad input is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnixMs } from '../../common/index.ts';
import { encodeCbor } from '../../dtn/index.ts';
import { encodeTransaction, makeReceipt, signReceipt, type LedgerTransaction } from '../../consensus/index.ts';
import { ValidatorCluster } from './validator-cluster.ts';
import { USAGE } from './ledger-world.ts';

let cluster: ValidatorCluster;

function escrow(job: number): LedgerTransaction {
  return {
    kind: 'escrow-open', escrowId: `escrow-${job}`, jobId: `job-${job}`, tenantAccountId: 'tenant-a', providerAccountId: 'sat-1-earnings',
    amountMinor: 1_000n, deadlineMs: Date.now() + 72 * 3_600_000,
  };
}

function receipt(job: number): LedgerTransaction {
  const r = makeReceipt({
    chainId: 'orbitfed-cluster', nodeId: 'sat-1', keyEpoch: 0, sequence: job + 1, jobId: `job-${job}`, usage: USAGE, amountMinor: 900n, currency: 'EUR',
    createdAtMs: Date.now() as UnixMs,
  });
  return { kind: 'settle-receipt', receipt: signReceipt(r, cluster.testnet.nodeSeeds.get('sat-1')!) };
}

beforeAll(async () => {
  cluster = await ValidatorCluster.create({ validators: 4, configExtras: { snapshotEveryBlocks: 10, emptyBlockIntervalMs: 300 } });
  for (let i = 0; i < 4; i++) cluster.start(i);
  for (let i = 0; i < 4; i++) await cluster.waitForRpc(i);
  await cluster.waitForHeight(0, 2);
});

afterAll(async () => {
  await cluster?.close();
});

describe('four validator processes', () => {
  it('settle receipts exactly once, through a crash and restart of one validator', async () => {
    const escrows = await cluster.clients[0]!.submit(Array.from({ length: 40 }, (_, j) => encodeTransaction(escrow(j))), { waitForCommit: true, timeoutMs: 20_000 });
    expect(escrows.map((t) => `${t.status}/${t.code}`)).toEqual(escrows.map(() => 'committed/0'));

    const first = Array.from({ length: 20 }, (_, j) => encodeTransaction(receipt(j)));
    const settled = await cluster.clients[1]!.submit(first, { waitForCommit: true, timeoutMs: 20_000 });
    expect(settled.every((t) => t.status === 'committed' && t.code === 0)).toBe(true);

    // Validator 2 crashes; the others (30 of 40 power) go on settling.
    await cluster.stop(2, 'SIGKILL');
    const second = Array.from({ length: 20 }, (_, j) => encodeTransaction(receipt(20 + j)));
    const settledWithout = await cluster.clients[3]!.submit(second, { waitForCommit: true, timeoutMs: 20_000 });
    expect(settledWithout.every((t) => t.status === 'committed' && t.code === 0)).toBe(true);
    // The same receipt again is not settled twice: the mempool knows it was committed.
    const again = await cluster.clients[0]!.submit([first[0]!], { waitForCommit: true, timeoutMs: 5_000 });
    expect(again[0]!.admission).toBe('committed');

    cluster.start(2);
    await cluster.waitForRpc(2);
    const target = (await cluster.clients[0]!.status()).lastCommitted!.height;
    await cluster.waitForHeight(2, target, 30_000);
    const blocks = await Promise.all(cluster.clients.map((c) => c.block(target)));
    for (const b of blocks) expect(b?.appHash).toBe(blocks[0]!.appHash);
    const earnings = await Promise.all(cluster.clients.map((c) => c.account('sat-1-earnings')));
    // 40 receipts of 900, each paying the provider 900 − ⌈900 × 4 %⌉ = 864.
    for (const e of earnings) expect(e?.balanceMinor).toBe(String(40 * 864));
  });

  it('refuses malformed requests with a problem document and keeps running', async () => {
    const url = cluster.testnet.rpcUrls[0]!;
    const notCbor = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from('{"not":"cbor"}') });
    expect(notCbor.status).toBe(400);
    expect(notCbor.headers.get('content-type')).toBe('application/problem+json');
    expect(((await notCbor.json()) as { code: string }).code).toBe('ORBITFED_RPC_BODY');
    const wrongType = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
    const garbageTx = await cluster.clients[0]!.submit([new Uint8Array([1, 2, 3])]);
    expect(garbageTx[0]!.admission).toBe('malformed');
    const huge = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encodeCbor([new Uint8Array(70_000)]) });
    expect(huge.status).toBe(400);
    expect(await fetch(`${url}/v1/nothing`).then((r) => r.status)).toBe(404);
    const status = await cluster.clients[0]!.status();
    expect(status.chainId).toBe('orbitfed-cluster');
  });

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    expect(await cluster.stop(3, 'SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
