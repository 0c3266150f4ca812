// Public entry of hil/: the only file other folders import.

// Link emulator: the contact plan drives user-space TCP relays (up/down, light time, rate, faults).
export type { LinkMap, LinkMapJson, MappedFlap, MappedLink, PlanEpochChoice } from './link-map.ts';
export { loadLinkMapFile, linkMapFromValue, parseLinkMapText, LinkMapSchema, LINK_MAP_BYTES_MAX, LINK_MAP_DEFAULTS, LINKS_MAX } from './link-map.ts';
export type { DirectionParameters, LinkAvailability, LinkSegment, PlanInterval } from './link-schedule.ts';
export { directedSchedule, DirectedSchedule, LinkTimeline, PlanClock, planClockOf } from './link-schedule.ts';
export type { CutReason, Direction, EmulatorStatus, LinkEmulatorOptions, LinkSelector, LinkStatus } from './link-emulator.ts';
export { LinkEmulator } from './link-emulator.ts';
export type { LinkControl, LinkControlApiOptions } from './link-control-api.ts';
export { LinkControlApi, DelayRequestSchema, CONTROL_BODY_BYTES_MAX } from './link-control-api.ts';
export type { LinkEmulatorServiceOptions } from './link-emulator-service.ts';
export { LinkEmulatorService, loadLinkEmulatorService } from './link-emulator-service.ts';
