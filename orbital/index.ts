// Public entry of orbital/: the only file other folders import (STYLE rule 1).
export type { CpuTimes, LoadAverage, MemoryInfo, Uptime } from './housekeeping-proc.ts';
export { cpuBusyFraction, parseLoadavg, parseMeminfo, parseProcStat, parseThermalTemp, parseUptime } from './housekeeping-proc.ts';
export type { DiskUsage, HousekeepingOptions, HousekeepingRecord, ThermalZone } from './housekeeping.ts';
export { HousekeepingReader, DISK_PATHS_MAX, THERMAL_ZONES_MAX } from './housekeeping.ts';

// The orbital agent (issue 8): its state, configuration, the agent and the one wiring file.
export type {
  AssignmentState, AssignmentStoreLimits, AssignmentStoreStats, EnqueueOutcome, OutboxKind, OutboxMessage, StoredAssignment, StoredOutboxMessage,
} from './assignment-store.ts';
export { ASSIGNMENT_STORE_LIMITS_DEFAULT, ASSIGNMENT_STORE_SCHEMA_VERSION, AssignmentStore } from './assignment-store.ts';
export type { ResultFile } from './job-workspace.ts';
export { INPUT_FILE, JobWorkspace, RESULT_FILE, workloadIdOf } from './job-workspace.ts';
export type { PlanState } from './plan-state.ts';
export { loadPlanState, PLAN_STATE_FILE, writePlanState } from './plan-state.ts';
export type { OrbitalConfig, OrbitalConfigFile } from './orbital-config.ts';
export { loadOrbitalConfig, OrbitalConfigSchema, resolveOrbitalConfig } from './orbital-config.ts';
export type { OrbitalAgentDeps, OrbitalAgentSettings, OrbitalAgentStatus, OrbitalJobLimits } from './orbital-agent.ts';
export { OrbitalAgent } from './orbital-agent.ts';
export type { OrbitalServiceOptions } from './orbital-service.ts';
export { OrbitalService } from './orbital-service.ts';
