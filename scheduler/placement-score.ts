// Placement's scores (the "score" extension point of the Kubernetes scheduling framework): each
// part in [0, 1], higher is better, combined by weights that sum to 1.
//   completion = (deadline − result arrival) / (deadline − now), clamped: how early the result is back;
//   cost       = 1 − estimated price / max price (1 when the max price is 0 and so is the price);
//   reputation = reputation ppm / 1,000,000;
//   spread     = 1 / (1 + jobs already on the node's spread key), 1 when the job asks for no spread.
import type { SpreadKey } from './job-spec.ts';
import type { NodeSpec } from './node-spec.ts';

export interface ScoreWeights {
  readonly completion: number;
  readonly cost: number;
  readonly reputation: number;
  readonly spread: number;
}

export const SCORE_WEIGHTS_DEFAULT: ScoreWeights = { completion: 0.5, cost: 0.2, reputation: 0.2, spread: 0.1 };

/** The spread key of a node ("operator:<operator>", "country:<country or registry>"), or undefined for no spread. */
export function spreadKeyOf(node: NodeSpec, key: SpreadKey | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key === 'operator') return `operator:${node.operator}`;
  const country = node.jurisdiction.country ?? node.jurisdiction.registry;
  return country === undefined ? undefined : `country:${country}`;
}

export interface ScoreResult {
  readonly score: number;
  readonly parts: Readonly<Record<string, number>>;
}

/** The part of a node's score that does not depend on time: its weighted cost, reputation and spread (placement's bounds add the completion part to it). */
export function staticScoreOf(weights: ScoreWeights, cost: number, reputation: number, spread: number): number {
  return weights.cost * cost + weights.reputation * reputation + weights.spread * spread;
}

/** The weighted score of a node whose result arrives at `resultArrivalMs`. */
export function scoreOf(
  weights: ScoreWeights, staticParts: { readonly cost: number; readonly reputation: number; readonly spread: number },
  resultArrivalMs: number, deadlineMs: number, horizonMs: number,
): ScoreResult {
  const completion = horizonMs > 0 ? Math.min(1, Math.max(0, (deadlineMs - resultArrivalMs) / horizonMs)) : 0;
  const parts = { completion, cost: staticParts.cost, reputation: staticParts.reputation, spread: staticParts.spread };
  const score = weights.completion * completion + weights.cost * parts.cost + weights.reputation * parts.reputation + weights.spread * parts.spread;
  return { score, parts };
}
