// Double-sign protection (CometBFT privval FilePV semantics): the last signed height/round/step is
// persisted before a signature is released, and after a restart the guard refuses anything that
// would conflict with what it signed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lastSigned, MemorySignStateStore, SignGuard, SIGN_STATE_EMPTY, type SignState, type SignStateStore } from '../../consensus/sign-guard.ts';
import { FileSignStateStore, readSignStateFile } from '../../consensus/sign-state-file.ts';
import { proposalSignBytes, voteSignBytes, type VoteType } from '../../consensus/tendermint-messages.ts';
import { ed25519Key, ed25519Verify } from './consensus-fixtures.ts';

const CHAIN = 'orbitfed-test';
const key = ed25519Key('guard');
const ADDRESS = 'a1';
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);

const vote = (type: VoteType, height: number, round: number, blockId: string | null): Uint8Array =>
  voteSignBytes(CHAIN, { type, height, round, blockId, validatorAddress: ADDRESS });
const proposal = (height: number, round: number, blockId: string): Uint8Array =>
  proposalSignBytes(CHAIN, { height, round, validRound: -1, blockId, proposerAddress: ADDRESS });

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('SignGuard', () => {
  it('signs forward in height, round and step, and refuses to go back', () => {
    const guard = new SignGuard(new MemorySignStateStore(), key.signer, CHAIN);
    const signature = guard.sign(vote('prevote', 5, 1, A));
    expect(ed25519Verify(key.publicKey, vote('prevote', 5, 1, A), signature)).toBe(true);
    guard.sign(vote('precommit', 5, 1, A));
    guard.sign(proposal(5, 2, B));
    guard.sign(vote('prevote', 5, 2, B));
    expect(code(() => guard.sign(vote('precommit', 5, 1, A)))).toBe('ORBITFED_SIGN_REGRESSION');
    expect(code(() => guard.sign(proposal(5, 2, B)))).toBe('ORBITFED_SIGN_REGRESSION');
    expect(code(() => guard.sign(vote('prevote', 4, 9, A)))).toBe('ORBITFED_SIGN_REGRESSION');
    guard.sign(vote('prevote', 6, 0, null));
  });

  it('returns the saved signature for the same bytes at the same step, and refuses different bytes: a double sign', () => {
    const store = new MemorySignStateStore();
    const guard = new SignGuard(store, key.signer, CHAIN);
    const first = guard.sign(vote('prevote', 3, 0, A));
    const saves = store.saves;
    expect(guard.sign(vote('prevote', 3, 0, A))).toEqual(first);
    expect(store.saves).toBe(saves);
    expect(code(() => guard.sign(vote('prevote', 3, 0, B)))).toBe('ORBITFED_SIGN_CONFLICT');
    expect(code(() => guard.sign(vote('prevote', 3, 0, null)))).toBe('ORBITFED_SIGN_CONFLICT');
  });

  it('refuses to re-sign conflicting data after a restart, from the state it saved', () => {
    const store = new MemorySignStateStore();
    new SignGuard(store, key.signer, CHAIN).sign(vote('precommit', 7, 2, A));
    const restarted = new SignGuard(store, key.signer, CHAIN);
    expect(code(() => restarted.sign(vote('precommit', 7, 2, B)))).toBe('ORBITFED_SIGN_CONFLICT');
    expect(code(() => restarted.sign(vote('prevote', 7, 2, B)))).toBe('ORBITFED_SIGN_REGRESSION');
    expect(restarted.lockFor(7)).toEqual({ height: 7, round: 2, blockId: A });
  });

  it('persists before it releases a signature: when the store fails, no signature comes out', () => {
    const failing: SignStateStore = { load: () => SIGN_STATE_EMPTY, save: () => { throw new Error('disk full'); } };
    const guard = new SignGuard(failing, key.signer, CHAIN);
    expect(() => guard.sign(vote('prevote', 1, 0, A))).toThrow('disk full');
    expect(lastSigned(guard.state())).toBeNull();
  });

  it('keeps the messages of the last round it signed in, and the lock of its last non-nil precommit', () => {
    const store = new MemorySignStateStore();
    const guard = new SignGuard(store, key.signer, CHAIN);
    guard.sign(vote('prevote', 2, 0, A));
    guard.sign(vote('precommit', 2, 0, A));
    guard.sign(vote('prevote', 2, 1, null));
    guard.sign(vote('precommit', 2, 1, null));
    expect(guard.signedAt(2).map((m) => [m.round, m.step])).toEqual([[1, 'prevote'], [1, 'precommit']]);
    expect(guard.lockFor(2)).toEqual({ height: 2, round: 0, blockId: A });
    guard.sign(vote('prevote', 3, 0, B));
    expect(guard.lockFor(3)).toBeNull();
    expect(guard.signedAt(2)).toEqual([]);
  });

  it('signs only consensus messages of its own chain', () => {
    const guard = new SignGuard(new MemorySignStateStore(), key.signer, CHAIN);
    expect(code(() => guard.sign(voteSignBytes('other-chain', { type: 'prevote', height: 1, round: 0, blockId: A, validatorAddress: ADDRESS })))).toBe('ORBITFED_SIGN_WRONG_CHAIN');
    expect(code(() => guard.sign(new TextEncoder().encode('a receipt, not a vote')))).toBe('ORBITFED_CONSENSUS_DECODE');
  });
});

describe('FileSignStateStore', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fresh = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'orbitfed-sign-state-'));
    dirs.push(dir);
    return join(dir, 'sign-state');
  };

  it('survives a restart: a new guard over the same file refuses a conflicting vote', () => {
    const path = fresh();
    const guard = new SignGuard(new FileSignStateStore(path, { createIfMissing: true }), key.signer, CHAIN);
    const signature = guard.sign(vote('prevote', 9, 3, A));
    guard.sign(vote('precommit', 9, 3, A));
    const restarted = new SignGuard(new FileSignStateStore(path, { createIfMissing: false }), key.signer, CHAIN);
    expect(code(() => restarted.sign(vote('precommit', 9, 3, B)))).toBe('ORBITFED_SIGN_CONFLICT');
    expect(restarted.lockFor(9)).toEqual({ height: 9, round: 3, blockId: A });
    expect(restarted.signedAt(9)[0]!.signature).toEqual(signature);
  });

  it('round-trips the state exactly, with a CRC-32, and leaves no temporary file', () => {
    const path = fresh();
    const store = new FileSignStateStore(path, { createIfMissing: true });
    const guard = new SignGuard(store, key.signer, CHAIN);
    guard.sign(proposal(4, 1, B));
    guard.sign(vote('prevote', 4, 1, B));
    const state: SignState = guard.state();
    expect(readSignStateFile(path, { createIfMissing: false })).toEqual(state);
    expect(readFileSync(path, 'utf8')).toMatch(/^orbitfed-sign-state\/1 \{.*\} [0-9a-f]{8}\n$/);
    expect(() => readFileSync(`${path}.tmp`)).toThrow();
  });

  it('refuses a missing file unless this is a first start, and refuses a corrupt one rather than guessing', () => {
    const path = fresh();
    expect(code(() => readSignStateFile(path, { createIfMissing: false }))).toBe('ORBITFED_SIGN_STATE_MISSING');
    expect(readSignStateFile(path, { createIfMissing: true })).toEqual(SIGN_STATE_EMPTY);
    new SignGuard(new FileSignStateStore(path, { createIfMissing: true }), key.signer, CHAIN).sign(vote('prevote', 1, 0, A));
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"round":0', '"round":9'));
    expect(code(() => readSignStateFile(path, { createIfMissing: false }))).toBe('ORBITFED_SIGN_STATE_CORRUPT');
    writeFileSync(path, 'not a sign state\n');
    expect(code(() => readSignStateFile(path, { createIfMissing: false }))).toBe('ORBITFED_SIGN_STATE_CORRUPT');
  });
});
