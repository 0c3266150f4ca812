// The node key registry, reputation and slashing.
//
// Keys. A node registers with key epoch 0; each rotation adds epoch n + 1 and retires epoch n at
// the rotation's block time; any epoch can be revoked. A receipt under a retired key still settles
// if it says it was made before the retirement (receipts reach the ground hours late, and the node
// made them while the key was its own); under a revoked key it never settles (a stolen key can
// backdate). Every public key passes `checkPublicKeyForRegistration` and is registered once, ever,
// across all nodes and epochs. Registration and rotation carry the new key's signature (proof of
// possession: nobody can claim a key they do not hold, which would block its owner); a rotation is
// also signed by the active key; a revocation by the active key or the revoked key itself. A node
// whose active key is revoked has no key left to rotate with: it registers again under a new id.
// The signed bytes are `signingBytes(domain, chainId, body)` (consensus/canonical-bytes.ts):
//   orbitfed/node-registration/v1   [nodeId, publicKey]
//   orbitfed/key-rotation/v1        [nodeId, newEpoch, newPublicKey]
//   orbitfed/key-revocation/v1      [nodeId, epoch]
//
// Slashing moves stake to the currency's fee account (the protocol's treasury), from every stake
// account the node owns, ⌊balance × bp / 10,000⌋ each: double-sign evidence once per (node, height),
// an SLA violation once per job. An SLA violation also voids the job's escrow if it is still pending
// (the tenant gets its money back; a late receipt then finds the escrow resolved). Reputation
// formulas are in consensus/settlement-math.ts.
import { bytesEqual, signingBytes, SIGNING_DOMAINS } from './canonical-bytes.ts';
import { checkPublicKeyForRegistration, ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify } from './ed25519.ts';
import { applied, NO_OP, rejected, type LedgerState, type NodeRecord, type Outcome } from './ledger-state.ts';
import type { DoubleSignTx, Movement, RegisterNodeTx, RevokeKeyTx, RotateKeyTx, SlaViolationTx } from './ledger-transactions.ts';
import { releasePendingEscrow } from './ledger-transfers.ts';
import type { ReceiptSignerKey } from './receipt.ts';
import { REPUTATION_PPM_INITIAL, reputationAfterDoubleSign, reputationAfterSlaViolation, slashMinor } from './settlement-math.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function nodeRegistrationBytes(chainId: string, nodeId: string, publicKey: Uint8Array): Uint8Array {
  return signingBytes(SIGNING_DOMAINS.nodeRegistration, chainId, [nodeId, publicKey]);
}

export function keyRotationBytes(chainId: string, nodeId: string, newEpoch: number, newPublicKey: Uint8Array): Uint8Array {
  return signingBytes(SIGNING_DOMAINS.keyRotation, chainId, [nodeId, newEpoch, newPublicKey]);
}

export function keyRevocationBytes(chainId: string, nodeId: string, epoch: number): Uint8Array {
  return signingBytes(SIGNING_DOMAINS.keyRevocation, chainId, [nodeId, epoch]);
}

/** A node's registration, signed by its key (client side). */
export function registerNodeTransaction(chainId: string, nodeId: string, seed: Uint8Array): RegisterNodeTx {
  const { publicKey } = ed25519KeyPairFromSeed(seed);
  return { kind: 'register-node', nodeId, publicKey, possessionSignature: ed25519Sign(seed, nodeRegistrationBytes(chainId, nodeId, publicKey)) };
}

/** A rotation to `newEpoch`, signed by the active key and the new key (client side). */
export function rotateKeyTransaction(chainId: string, nodeId: string, newEpoch: number, currentSeed: Uint8Array, newSeed: Uint8Array): RotateKeyTx {
  const newPublicKey = ed25519KeyPairFromSeed(newSeed).publicKey;
  const bytes = keyRotationBytes(chainId, nodeId, newEpoch, newPublicKey);
  return { kind: 'rotate-key', nodeId, newEpoch, newPublicKey, currentKeySignature: ed25519Sign(currentSeed, bytes), newKeySignature: ed25519Sign(newSeed, bytes) };
}

/** A revocation of `epoch`, signed by the key of `signerEpoch` (client side). */
export function revokeKeyTransaction(chainId: string, nodeId: string, epoch: number, signerEpoch: number, signerSeed: Uint8Array): RevokeKeyTx {
  return { kind: 'revoke-key', nodeId, epoch, signerEpoch, signature: ed25519Sign(signerSeed, keyRevocationBytes(chainId, nodeId, epoch)) };
}

/** The active key: the last epoch, unless revoked. */
function activeKeyOf(node: NodeRecord): NodeRecord['keys'][number] | undefined {
  const last = node.keys.at(-1)!;
  return last.revokedAtMs === undefined ? last : undefined;
}

function checkNewKey(state: LedgerState, publicKey: Uint8Array): Outcome | undefined {
  const check = checkPublicKeyForRegistration(publicKey);
  if (!check.ok) return rejected('ORBITFED_LEDGER_PUBLIC_KEY_REFUSED', `${check.reason}: ${check.detail}`);
  const owner = state.publicKeyOwners.get(hex(publicKey));
  if (owner !== undefined) return rejected('ORBITFED_LEDGER_PUBLIC_KEY_IN_USE', `the key is epoch ${owner.epoch} of node ${owner.nodeId}`);
  const keysMax = state.params.limits.nodesMax * state.params.limits.keysPerNodeMax;
  if (state.publicKeyOwners.size >= keysMax) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger holds ${keysMax} keys at most`);
  return undefined;
}

export function registerNode(state: LedgerState, tx: RegisterNodeTx, blockTimeMs: number): Outcome {
  const existing = state.nodes.get(tx.nodeId);
  if (existing !== undefined) {
    return bytesEqual(existing.keys[0]!.publicKey, tx.publicKey) ? NO_OP : rejected('ORBITFED_LEDGER_ID_CONFLICT', `node ${tx.nodeId} is registered with another key`);
  }
  if (state.nodes.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger holds ${state.nodes.entriesMax} nodes at most`);
  const refusal = checkNewKey(state, tx.publicKey);
  if (refusal !== undefined) return refusal;
  if (!ed25519Verify(tx.publicKey, nodeRegistrationBytes(state.params.chainId, tx.nodeId, tx.publicKey), tx.possessionSignature)) {
    return rejected('ORBITFED_LEDGER_BAD_SIGNATURE', 'the registration is not signed by the key it registers');
  }
  const node: NodeRecord = {
    id: tx.nodeId, registeredAtMs: blockTimeMs, reputationPpm: REPUTATION_PPM_INITIAL,
    keys: [{ epoch: 0, publicKey: new Uint8Array(tx.publicKey), activatedAtMs: blockTimeMs }],
  };
  return applied([], () => {
    state.nodes.set(node.id, node);
    state.publicKeyOwners.set(hex(tx.publicKey), { nodeId: node.id, epoch: 0 });
  });
}

export function rotateKey(state: LedgerState, tx: RotateKeyTx, blockTimeMs: number): Outcome {
  const node = state.nodes.get(tx.nodeId);
  if (node === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_NODE', `no node ${tx.nodeId}`);
  const already = node.keys[tx.newEpoch];
  if (already !== undefined && bytesEqual(already.publicKey, tx.newPublicKey)) return NO_OP;
  const active = activeKeyOf(node);
  if (active === undefined) return rejected('ORBITFED_LEDGER_KEY_REVOKED', `node ${node.id} has no active key (epoch ${node.keys.length - 1} is revoked)`);
  if (tx.newEpoch !== active.epoch + 1) return rejected('ORBITFED_LEDGER_KEY_EPOCH', `the next epoch of ${node.id} is ${active.epoch + 1}, not ${tx.newEpoch}`);
  if (node.keys.length >= state.params.limits.keysPerNodeMax) return rejected('ORBITFED_LEDGER_LIMIT', `a node has ${state.params.limits.keysPerNodeMax} key epochs at most`);
  const refusal = checkNewKey(state, tx.newPublicKey);
  if (refusal !== undefined) return refusal;
  const bytes = keyRotationBytes(state.params.chainId, node.id, tx.newEpoch, tx.newPublicKey);
  if (!ed25519Verify(active.publicKey, bytes, tx.currentKeySignature)) return rejected('ORBITFED_LEDGER_BAD_SIGNATURE', `the rotation is not signed by the active key (epoch ${active.epoch})`);
  if (!ed25519Verify(tx.newPublicKey, bytes, tx.newKeySignature)) return rejected('ORBITFED_LEDGER_BAD_SIGNATURE', 'the rotation is not signed by the new key');
  const keys = [...node.keys.slice(0, -1), { ...active, retiredAtMs: blockTimeMs }, { epoch: tx.newEpoch, publicKey: new Uint8Array(tx.newPublicKey), activatedAtMs: blockTimeMs }];
  return applied([], () => {
    state.nodes.set(node.id, { ...node, keys });
    state.publicKeyOwners.set(hex(tx.newPublicKey), { nodeId: node.id, epoch: tx.newEpoch });
  });
}

export function revokeKey(state: LedgerState, tx: RevokeKeyTx, blockTimeMs: number): Outcome {
  const node = state.nodes.get(tx.nodeId);
  if (node === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_NODE', `no node ${tx.nodeId}`);
  const key = node.keys[tx.epoch];
  if (key === undefined) return rejected('ORBITFED_LEDGER_KEY_EPOCH', `node ${node.id} has no key of epoch ${tx.epoch}`);
  if (key.revokedAtMs !== undefined) return NO_OP;
  const active = activeKeyOf(node);
  if (tx.signerEpoch !== tx.epoch && tx.signerEpoch !== active?.epoch) {
    return rejected('ORBITFED_LEDGER_KEY_EPOCH', `a revocation is signed by the revoked key or the active key, not epoch ${tx.signerEpoch}`);
  }
  const signer = node.keys[tx.signerEpoch]!;
  if (signer.revokedAtMs !== undefined) return rejected('ORBITFED_LEDGER_KEY_REVOKED', `signing key epoch ${signer.epoch} is revoked`);
  if (!ed25519Verify(signer.publicKey, keyRevocationBytes(state.params.chainId, node.id, tx.epoch), tx.signature)) {
    return rejected('ORBITFED_LEDGER_BAD_SIGNATURE', `the revocation is not signed by key epoch ${signer.epoch}`);
  }
  const keys = node.keys.map((k) => (k.epoch === tx.epoch ? { ...k, revokedAtMs: blockTimeMs } : k));
  return applied([], () => state.nodes.set(node.id, { ...node, keys }));
}

/** What a receipt verifier needs to know of (node, epoch). */
export function receiptSignerKey(state: LedgerState, nodeId: string, keyEpoch: number): ReceiptSignerKey {
  const node = state.nodes.get(nodeId);
  if (node === undefined) return { kind: 'unknown-node' };
  const key = node.keys[keyEpoch];
  if (key === undefined) return { kind: 'unknown-key-epoch' };
  return { kind: 'key', publicKey: key.publicKey, retiredAtMs: key.retiredAtMs, revokedAtMs: key.revokedAtMs };
}

/** Slashes of every stake account the node owns, in account id order (zero amounts left out). */
function slashes(state: LedgerState, nodeId: string, basisPoints: number, name: string): Movement[] {
  const stakes = [...state.accounts.values()].filter((a) => a.kind === 'stake' && a.ownerId === nodeId).sort((a, b) => (a.id < b.id ? -1 : 1));
  return stakes.flatMap((stake) => {
    const amountMinor = slashMinor(stake.balanceMinor, basisPoints);
    if (amountMinor === 0n) return [];
    return [{ transferId: `${name}/slash/${stake.id}`, debitAccountId: stake.id, creditAccountId: state.feeAccountByCurrency.get(stake.currency)!, amountMinor, currency: stake.currency }];
  });
}

export function reportSlaViolation(state: LedgerState, tx: SlaViolationTx, blockTimeMs: number): Outcome {
  const previous = state.slaReports.get(tx.reportId);
  if (previous !== undefined) {
    return previous.jobId === tx.jobId && previous.nodeId === tx.nodeId ? NO_OP : rejected('ORBITFED_LEDGER_ID_CONFLICT', `report ${tx.reportId} was filed about another job or node`);
  }
  const node = state.nodes.get(tx.nodeId);
  if (node === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_NODE', `no node ${tx.nodeId}`);
  const escrowId = state.escrowIdByJob.get(tx.jobId);
  if (escrowId === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_JOB', `no escrow for job ${tx.jobId}`);
  const escrow = state.escrows.get(escrowId)!;
  const providerOwner = state.accounts.get(escrow.providerAccountId)!.ownerId;
  if (providerOwner !== tx.nodeId) return rejected('ORBITFED_LEDGER_WRONG_NODE', `job ${tx.jobId} was placed on ${providerOwner}, not ${tx.nodeId}`);
  if (escrow.slaReportId !== '') return rejected('ORBITFED_LEDGER_ALREADY_REPORTED', `job ${tx.jobId} was reported in ${escrow.slaReportId}`);
  if (state.slaReports.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger remembers ${state.slaReports.entriesMax} SLA reports at most`);
  const slashed = slashes(state, node.id, state.params.slaSlashBasisPoints, tx.reportId);
  const release = escrow.status === 'pending' ? releasePendingEscrow(state, escrow, blockTimeMs, 'voided') : undefined;
  return applied([...slashed, ...(release?.movements ?? [])], () => {
    for (const m of slashed) state.move(m);
    release?.apply();
    state.escrows.set(escrow.id, { ...state.escrows.get(escrow.id)!, slaReportId: tx.reportId });
    state.slaReports.set(tx.reportId, { id: tx.reportId, jobId: tx.jobId, nodeId: tx.nodeId, reportedAtMs: blockTimeMs });
    state.nodes.set(node.id, { ...node, reputationPpm: reputationAfterSlaViolation(node.reputationPpm) });
  });
}

export function slashDoubleSign(state: LedgerState, tx: DoubleSignTx, blockTimeMs: number): Outcome {
  const key = `${tx.nodeId}@${tx.height}`;
  const previous = state.offenses.get(key);
  if (previous !== undefined) {
    return bytesEqual(previous.evidenceHash, tx.evidenceHash) ? NO_OP : rejected('ORBITFED_LEDGER_OFFENSE_CONFLICT', `${tx.nodeId} was already slashed for height ${tx.height}`);
  }
  const node = state.nodes.get(tx.nodeId);
  if (node === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_NODE', `no node ${tx.nodeId}`);
  if (state.offenses.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger remembers ${state.offenses.entriesMax} offenses at most`);
  const slashed = slashes(state, node.id, state.params.doubleSignSlashBasisPoints, key);
  return applied(slashed, () => {
    for (const m of slashed) state.move(m);
    state.offenses.set(key, { key, evidenceHash: new Uint8Array(tx.evidenceHash), slashedAtMs: blockTimeMs });
    state.nodes.set(node.id, { ...node, reputationPpm: reputationAfterDoubleSign() });
  });
}
