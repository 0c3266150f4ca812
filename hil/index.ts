// Public entry of hil/: the only file other folders import.

// Link emulator: the contact plan drives user-space TCP relays (up/down, light time, rate, faults).
export type { LinkMap, LinkMapJson, MappedFlap, MappedLink, PlanEpochChoice } from './link-map.ts';
export { loadLinkMapFile, linkMapFromValue, parseLinkMapText, LinkMapSchema, LINK_MAP_BYTES_MAX, LINK_MAP_DEFAULTS, LINKS_MAX } from './link-map.ts';
export type { DirectionParameters, LinkAvailability, LinkSegment, PlanInterval } from './link-schedule.ts';
export { directedSchedule, DirectedSchedule, LinkTimeline, PlanClock, planClockOf } from './link-schedule.ts';
export type { CutReason, Direction, EmulatorStatus, FlapRequest, LinkEmulatorOptions, LinkSelector, LinkStatus } from './link-emulator.ts';
export { CUT_REASONS, LinkEmulator, RUNTIME_FLAPS_MAX } from './link-emulator.ts';
export type { LinkControl, LinkControlApiOptions } from './link-control-api.ts';
export { LinkControlApi, DelayRequestSchema, FlapRequestSchema, CONTROL_BODY_BYTES_MAX } from './link-control-api.ts';
export type { LinkEmulatorServiceOptions } from './link-emulator-service.ts';
export { LinkEmulatorService, loadLinkEmulatorService } from './link-emulator-service.ts';

// A federation on one machine (real processes on one plan time line), and the demo built on it.
export type { FederationInputs, FederationLinkFaults, FederationSpec, FederationTenant, TenantRole } from './federation-spec.ts';
export { checkFederationSpec, loadFederationInputs, FEDERATION_NODES_MAX, FEDERATION_PLAN_HOURS_MAX, FEDERATION_TENANTS_MAX, FEDERATION_VALIDATORS_MAX } from './federation-spec.ts';
export type { FederationLayout, FederationPorts } from './federation-files.ts';
export { prepareFederationDir, writeFederationFiles } from './federation-files.ts';
export { freeLoopbackPortRange, freeLoopbackPorts, preferredOrFreePort, LOOPBACK_HOST } from './federation-ports.ts';
export type { NodeNamespace } from './federation-netns.ts';
export { namespaceSupportProblem, NAMESPACES_MAX } from './federation-netns.ts';
export type { FederationProcessSpec, FederationRole, ProcessExit, ProcessState } from './federation-process.ts';
export { describeExit, FederationProcess, ORBITFED_BIN } from './federation-process.ts';
export type { FederationOptions, FederationState } from './federation.ts';
export { Federation, httpOk, PROCESS_START_TIMEOUT_MS_DEFAULT, PROCESS_STOP_GRACE_MS_DEFAULT } from './federation.ts';
export type { DemoOptions } from './demo-federation.ts';
export { DEMO_DATA, DEMO_DOCKER_IMAGE_DEFAULT, DEMO_EU_TENANT, DEMO_GLOBAL_TENANT, DEMO_OPTIONS_DEFAULT, DEMO_TENANTS, demoFederationSpec, demoPlanStartMs } from './demo-federation.ts';
export type { DemoJob } from './demo-jobs.ts';
export { curlCommand, demoJobs, euSovereignJob, globalJob, inDocker } from './demo-jobs.ts';
export type { DemoSessionOptions, DemoSummary, JobChange, SubmittedJob } from './demo-session.ts';
export { apiRequest, DemoSession, FOLLOWED_JOBS_MAX } from './demo-session.ts';

// Scenarios: a federation of real processes, jobs and faults at plan times, invariants, a report.
export type { Scenario, ScenarioFault, ScenarioFile, ScenarioJob } from './scenario-file.ts';
export { loadScenarioFile, parseScenarioText, resolveScenario, ScenarioSchema, SCENARIO_DURATION_SEC_MAX, SCENARIO_FAULTS_MAX, SCENARIO_JOBS_MAX } from './scenario-file.ts';
export type { AppliedFault, ExitRecord, FaultRecord, LedgerRecord, ScenarioRecord, ScenarioRunOptions, SubmissionRecord } from './scenario-runner.ts';
export { federationSpecOf, runScenario, scenarioActions } from './scenario-runner.ts';
export type { CheckResult } from './scenario-checks.ts';
export { checkScenario } from './scenario-checks.ts';
export type { ScenarioReport } from './scenario-report.ts';
export { reportHtml, reportJson, scenarioReport, timelineSvg, writeScenarioReport } from './scenario-report.ts';

// Virtual-time swarm mode: the same scenario in one process, seeded and deterministic, random faults.
export { settleProcess, SimulationClock } from './virtual-clock.ts';
export type { SimulatedRuntimeOptions } from './virtual-runtime.ts';
export { SimulatedRuntime, simulatedWorkload } from './virtual-runtime.ts';
export type { ValidatorNetworkFaults, VirtualGenesisOptions, VirtualValidatorsOptions } from './virtual-validators.ts';
export { InProcessValidatorClient, VALIDATOR_NETWORK_QUIET, virtualGenesis, VirtualValidators } from './virtual-validators.ts';
export type { VirtualFederationOptions, VirtualProcessKind, VirtualScheduler } from './virtual-federation.ts';
export { IncarnationClock, VIRTUAL_SCHEDULER_IPN, VirtualFederation } from './virtual-federation.ts';
export type { VirtualInputs, VirtualRunOptions, VirtualRunResult } from './virtual-run.ts';
export { loadVirtualInputs, runVirtualScenario, SWARM_SEED_MAX } from './virtual-run.ts';
export type { SwarmFaultInputs, SwarmFaultKind, SwarmFaultPlan } from './swarm-faults.ts';
export { drawSwarmFaults, SWARM_FAULT_KINDS, SWARM_FAULTS_MAX } from './swarm-faults.ts';
export { SwarmTrace, TRACE_LINES_KEPT_MAX } from './swarm-trace.ts';
export type { VirtualReport } from './swarm-report.ts';
export { replayCommand, writeVirtualReport } from './swarm-report.ts';
export type { SeedOutcome, SeedRange, SwarmOptions } from './swarm-run.ts';
export { parseSeedRange, runSwarm, SWARM_SEEDS_MAX } from './swarm-run.ts';
