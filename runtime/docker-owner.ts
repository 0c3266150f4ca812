// Who owns a Docker runtime's containers. Containers are named `<owner>-<id>` and labelled with the
// owner, and a runtime's `start` removes every container of its owner (what a crashed earlier run
// left): two agents on one host with the same owner would kill each other's workloads when either
// starts. So each agent's owner is its own, derived from its node id unless configured.
import { createHash } from 'node:crypto';

/** A Docker owner: lower-case letters, digits, '_', '.', '-', 1–64 characters, starting with a letter or digit. */
export const DOCKER_OWNER_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const OWNER_LENGTH_MAX = 64;
const PREFIX = 'orbitfed-';
/** Hex digits of the node id's SHA-256 added when the id had to be changed to fit the pattern. */
const DIGEST_HEX_LENGTH = 8;

/**
 * The default owner of an agent's containers: `orbitfed-<node id>` when the id fits the pattern as
 * it is; otherwise the id lower-cased, other characters as '-', shortened, and followed by the first
 * hex digits of its SHA-256, so that ids differing only in case or in those characters (`SAT-1`,
 * `sat-1`, `sat:1`) still get different owners. Always matches `DOCKER_OWNER_PATTERN`.
 */
export function dockerOwnerOf(nodeId: string): string {
  const plain = `${PREFIX}${nodeId}`;
  if (DOCKER_OWNER_PATTERN.test(plain)) return plain;
  const digest = createHash('sha256').update(nodeId, 'utf8').digest('hex').slice(0, DIGEST_HEX_LENGTH);
  const cleaned = nodeId.toLowerCase().replace(/[^a-z0-9_.-]/g, '-');
  const room = OWNER_LENGTH_MAX - PREFIX.length - 1 - DIGEST_HEX_LENGTH;
  return `${PREFIX}${cleaned.slice(0, room)}-${digest}`;
}
