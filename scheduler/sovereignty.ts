// Where a job's data may be: the three sovereignty rules of a job spec, resolved to node sets.
//
// - atRest (countries/regions): the data rests at every node that holds it — relays on the input
//   and result routes (store and forward), the node that runs the job, and the station that
//   receives the result — so each must be inside: a ground node by its country, an orbital node by
//   its state of registry AND its operator's jurisdiction (a satellite that declares no operator
//   jurisdiction never satisfies an atRest rule). Nodes of the plan that are not registered (no
//   NodeSpec) have no known jurisdiction and never hold data under an atRest rule. The input's
//   location is exempt: the data is there already.
// - downlink (countries and/or station ids; a station qualifies by either): only those ground
//   stations may receive the data from space. Every contact from an orbital node into a node that
//   is not one of them is left out of the plan for this job (an unregistered node counts as not
//   one of them), and the result must end at one of them.
// - processingFootprint (countries/regions): where the job may be computed. A ground node by its
//   country; a satellite's sub-point must stay inside for the whole execution (ground-track.ts).
import { expandCountries } from './country-codes.ts';
import type { JobSpec } from './job-spec.ts';
import type { NodeSpec } from './node-spec.ts';

export interface SovereigntyRules {
  /** Countries the data may rest in, or undefined for anywhere. */
  readonly atRest: ReadonlySet<string> | undefined;
  /** Stations may receive from space if their country is in here … (undefined: no country list) */
  readonly downlinkCountries: ReadonlySet<string> | undefined;
  /** … or their id is in here (undefined: no station list). Both undefined: every station may. */
  readonly downlinkStations: ReadonlySet<string> | undefined;
  /** Countries the job may be computed over, or undefined for anywhere. */
  readonly footprint: ReadonlySet<string> | undefined;
}

export function sovereigntyRulesOf(job: JobSpec): SovereigntyRules {
  const s = job.sovereignty;
  return {
    atRest: s?.atRest === undefined ? undefined : expandCountries(s.atRest),
    downlinkCountries: s?.downlink?.countries === undefined ? undefined : expandCountries(s.downlink.countries),
    downlinkStations: s?.downlink?.stations === undefined ? undefined : new Set(s.downlink.stations),
    footprint: s?.processingFootprint === undefined ? undefined : expandCountries(s.processingFootprint),
  };
}

/** A canonical name of the rules that shape routes (atRest and downlink), for caches. */
export function routeRulesKey(rules: SovereigntyRules): string {
  const list = (set: ReadonlySet<string> | undefined): string => (set === undefined ? '*' : [...set].sort().join(','));
  return `rest=${list(rules.atRest)};down=${list(rules.downlinkCountries)};stations=${list(rules.downlinkStations)}`;
}

/** Whether the rules restrict anything at all about where data travels. */
export function restrictsRoutes(rules: SovereigntyRules): boolean {
  return rules.atRest !== undefined || hasDownlinkRule(rules);
}

export function hasDownlinkRule(rules: SovereigntyRules): boolean {
  return rules.downlinkCountries !== undefined || rules.downlinkStations !== undefined;
}

/** Whether the node may hold the job's data (atRest). `undefined` node: unregistered. */
export function mayRestAt(rules: SovereigntyRules, node: NodeSpec | undefined): boolean {
  if (rules.atRest === undefined) return true;
  if (node === undefined) return false;
  const { country, registry, operatorJurisdiction } = node.jurisdiction;
  if (node.kind === 'ground') return country !== undefined && rules.atRest.has(country);
  return registry !== undefined && operatorJurisdiction !== undefined && rules.atRest.has(registry) && rules.atRest.has(operatorJurisdiction);
}

/** Whether the node may receive the job's data from space (downlink). */
export function mayReceiveDownlink(rules: SovereigntyRules, node: NodeSpec | undefined): boolean {
  if (!hasDownlinkRule(rules)) return true;
  if (node === undefined || node.kind !== 'ground') return false;
  const byCountry = rules.downlinkCountries !== undefined && node.jurisdiction.country !== undefined && rules.downlinkCountries.has(node.jurisdiction.country);
  const byStation = rules.downlinkStations !== undefined && rules.downlinkStations.has(node.id);
  return byCountry || byStation;
}

/** Ground nodes: whether their country is inside the processing footprint (satellites are checked on their ground track). */
export function groundInFootprint(rules: SovereigntyRules, node: NodeSpec): boolean {
  return rules.footprint === undefined || (node.jurisdiction.country !== undefined && rules.footprint.has(node.jurisdiction.country));
}
