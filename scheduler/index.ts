// Public entry of scheduler/: the only file other folders import (STYLE rule 1).

// Placement: node and job specs (the shapes the REST API validates), sovereignty, placement.
export type { SpecProblem } from './spec-problems.ts';
export { SPEC_PROBLEMS_MAX } from './spec-problems.ts';
export type { Architecture, Attestation, Blackout, NodeKind, NodeSpec, Runtime } from './node-spec.ts';
export {
  ALPHA2_PATTERN, ArchitectureSchema, AttestationSchema, ATTESTATION_ATTRIBUTES_MAX, ATTESTATIONS_PER_NODE_MAX, BlackoutSchema, BLACKOUTS_MAX,
  countryCodeSchema, CURRENCY_CODE_PATTERN, NODE_ID_PATTERN, NodeIdSchema, NodeKindSchema, nodeSpecProblems, nodeSpecRuleProblems, NodeSpecSchema,
  parseNodeSpec, REPUTATION_PPM_DEFAULT, REPUTATION_PPM_MAX, RuntimeSchema, UNIX_MS_MAX, UnixMsSchema,
} from './node-spec.ts';
export type { JobSpec, OrbitalPolicy, SpreadKey } from './job-spec.ts';
export {
  AUDITOR_LIST_MAX, CODE_LIST_MAX, COMMAND_ARGS_MAX, DATA_SIZE_BYTES_MAX, EXECUTION_MS_MAX, jobRuntime, jobSpecProblems, jobSpecRuleProblems,
  JobSpecSchema, NODE_LIST_MAX, OrbitalPolicySchema, parseJobSpec, PRIORITY_MAX, SpreadKeySchema,
} from './job-spec.ts';
export { expandCountries, isCountryCode, isCountryOrRegion, ISO_3166_ALPHA2_BY_NUMERIC, ISO_3166_NUMERIC_BY_ALPHA2, REGIONS } from './country-codes.ts';
export { CountryBorders, loadCountryBorders, BORDER_CELL_DEG } from './country-borders.ts';
export type { SubPoint } from './ground-track.ts';
export { GroundTracks, GROUND_TRACK_STEP_MS, subSatellitePoint } from './ground-track.ts';
export { attestationSigningBytes, jurisdictionConflict, signAttestation, verifiedAuditors, verifyAttestation } from './attestations.ts';
export type { SovereigntyRules } from './sovereignty.ts';
export { mayReceiveDownlink, mayRestAt, sovereigntyRulesOf } from './sovereignty.ts';
export type { NodeCatalogInput } from './placement-catalog.ts';
export { CATALOG_NODES_MAX, NodeCatalog } from './placement-catalog.ts';
export type { NodeLoad, RejectionReason } from './placement-filters.ts';
export { priceMinorOf } from './placement-filters.ts';
export type { ScoreWeights } from './placement-score.ts';
export { SCORE_WEIGHTS_DEFAULT, spreadKeyOf } from './placement-score.ts';
export type { Placed, PlacementDecision, PlacementInput, PlacementPolicy, Rejection } from './placement.ts';
export { afterBlackouts, placeJob, PLACEMENT_POLICY_DEFAULT, releasePlacement, reservePlacement } from './placement.ts';

// The API side: job store, lifecycle, escrow port, tenants, REST API, configuration, the service.
export type { IdempotencyEntry, JobEvent, JobRecord, JobStoreLimits, NodeRecord, Page, TenantRecord, TenantRole } from './job-store.ts';
export { JOB_STORE_LIMITS_DEFAULT, JobStore, TENANT_ROLES } from './job-store.ts';
export type { CatalogOptions, JobLifecycleDeps, JobLifecycleOptions, JobResult, JobState, Placement, PlacementRecord, SubmitOutcome } from './job-lifecycle.ts';
export { ACTIVE_STATES, checkTransition, FINISHED_STATES, isFinished, JOB_LIFECYCLE_OPTIONS_DEFAULT, JOB_STATES, JobLifecycle } from './job-lifecycle.ts';
export type { EscrowLedger, EscrowOutcome, EscrowRequest, EscrowView, InProcessEscrowLedgerOptions, SlaViolationReport } from './escrow-ledger.ts';
export { escrowAccountId, feeAccountId, InProcessEscrowLedger, providerAccountId, tenantAccountId } from './escrow-ledger.ts';
export type { EscrowValidatorClient, ValidatorEscrowLedgerOptions } from './validator-escrow-ledger.ts';
export { ValidatorEscrowLedger } from './validator-escrow-ledger.ts';
export type { Principal, SignedRequestParts } from './tenants.ts';
export { API_REQUEST_DOMAIN, apiKeySha256, newApiKey, requestSigningBytes, signRequest, TENANT_ID_PATTERN, TenantDirectory } from './tenants.ts';
export type { Problem } from './problem.ts';
export { ApiProblem, PROBLEM_CONTENT_TYPE, ProblemSchema } from './problem.ts';
export type { ApiApp, ApiDeps, ApiLimits } from './api.ts';
export { eventView, jobView, NodeNames } from './api-views.ts';
export type { SchedulerConfig, SchedulerConfigFile } from './scheduler-config.ts';
export { loadSchedulerConfig, resolveSchedulerConfig, SchedulerConfigSchema } from './scheduler-config.ts';
import type { SchedulerService, SchedulerServiceOptions } from './scheduler-service.ts';
export type { SchedulerService, SchedulerServiceOptions } from './scheduler-service.ts';

/**
 * Builds a scheduler process (store, plan, ledger, placement, the REST API). fastify and its
 * plugins (~25 MB resident) load on this call, so the folders that only need the scheduler's data
 * shapes and protocol (the agents) never load them.
 */
export async function createSchedulerService(options: SchedulerServiceOptions): Promise<SchedulerService> {
  const { SchedulerService: Service } = await import('./scheduler-service.ts');
  return Service.create(options);
}

// The scheduler ↔ node protocol in bundle payloads: node-protocol.ts, the agents' entry, is the one list.
export * from './node-protocol.ts';

// The dispatcher: assignments out, reports and results in, on the scheduler's DTN node (dispatcher.ts).
export type { DispatcherDeps, DispatcherOptions, DispatcherStats, OverlayPeer } from './dispatcher.ts';
export { Dispatcher, DISPATCHER_OPTIONS_DEFAULT, OVERLAY_TAIL_SEC, withOverlayContacts } from './dispatcher.ts';
