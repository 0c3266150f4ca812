// Auditor attestations of nodes, after Akash's `signedBy` pattern: an auditor signs attributes of
// a node ("tier": "3", "country": "DE"), and a job may require that all of (`allOf`) or one of
// (`anyOf`) a list of auditors have attested the node it runs on.
//
// What is signed (consensus/canonical-bytes.ts: deterministic CBOR, fixed field order, a domain
// tag and the chain id in front):
//   ["orbitfed/node-attestation/v1", chainId, [nodeId, ipn, operator, auditor, [[key, value], …]]]
// with the attributes sorted by key (UTF-16 code units, as JavaScript compares strings). The node's
// id, ipn number and operator are bound, so an attestation cannot be moved to another node.
// Attributes named like the node's jurisdiction fields (country, registry, operatorJurisdiction)
// must agree with them: an auditor that attested "country": "DE" did not attest a node that now
// claims FR, so such an attestation does not count.
import { ed25519Sign, ed25519Verify, ED25519_SIGNATURE_BYTES, SIGNING_DOMAINS, signingBytes } from '../consensus/index.ts';
import type { Attestation, NodeSpec } from './node-spec.ts';

/** Attribute keys that must agree with the node's jurisdiction for the attestation to count. */
const JURISDICTION_KEYS = ['country', 'registry', 'operatorJurisdiction'] as const;

/** The exact bytes an auditor signs for `attestation` of `node`. */
export function attestationSigningBytes(chainId: string, node: Pick<NodeSpec, 'id' | 'ipn' | 'operator'>, auditor: string, attributes: Readonly<Record<string, string>>): Uint8Array {
  const pairs = Object.keys(attributes).sort().map((key) => [key, attributes[key]!] as const);
  return signingBytes(SIGNING_DOMAINS.nodeAttestation, chainId, [node.id, node.ipn, node.operator, auditor, pairs]);
}

/** An attestation of `node` by `auditor`, signed with the auditor's 32-byte ed25519 seed (for auditors' tools and tests). */
export function signAttestation(seed: Uint8Array, chainId: string, node: Pick<NodeSpec, 'id' | 'ipn' | 'operator'>, auditor: string, attributes: Readonly<Record<string, string>>): Attestation {
  const signature = ed25519Sign(seed, attestationSigningBytes(chainId, node, auditor, attributes));
  return { auditor, attributes: { ...attributes }, signature: Buffer.from(signature).toString('hex') };
}

/** Whether the signature verifies under `publicKey` (ZIP 215, consensus' one rule) over the node's attestation bytes. */
export function verifyAttestation(node: Pick<NodeSpec, 'id' | 'ipn' | 'operator'>, attestation: Attestation, publicKey: Uint8Array, chainId: string): boolean {
  if (!/^[0-9a-f]+$/.test(attestation.signature) || attestation.signature.length !== ED25519_SIGNATURE_BYTES * 2) return false;
  const signature = Uint8Array.from(Buffer.from(attestation.signature, 'hex'));
  return ed25519Verify(publicKey, attestationSigningBytes(chainId, node, attestation.auditor, attestation.attributes), signature);
}

/** The attribute that contradicts the node's jurisdiction, or undefined when none does. */
export function jurisdictionConflict(node: Pick<NodeSpec, 'jurisdiction'>, attestation: Attestation): string | undefined {
  for (const key of JURISDICTION_KEYS) {
    const attested = attestation.attributes[key];
    if (attested !== undefined && attested !== node.jurisdiction[key]) return key;
  }
  return undefined;
}

/**
 * The auditors whose attestations of `node` count: the auditor's key is known, the signature
 * verifies and no attribute contradicts the node's jurisdiction.
 */
export function verifiedAuditors(node: NodeSpec, auditorKeys: ReadonlyMap<string, Uint8Array>, chainId: string): Set<string> {
  const verified = new Set<string>();
  for (const attestation of node.attestations) {
    const publicKey = auditorKeys.get(attestation.auditor);
    if (publicKey === undefined || verified.has(attestation.auditor)) continue;
    if (jurisdictionConflict(node, attestation) !== undefined) continue;
    if (verifyAttestation(node, attestation, publicKey, chainId)) verified.add(attestation.auditor);
  }
  return verified;
}
