// Public entry of orbital/: the only file other folders import (STYLE rule 1).
export type { CpuTimes, LoadAverage, MemoryInfo, Uptime } from './housekeeping-proc.ts';
export { cpuBusyFraction, parseLoadavg, parseMeminfo, parseProcStat, parseThermalTemp, parseUptime } from './housekeeping-proc.ts';
export type { DiskUsage, HousekeepingOptions, HousekeepingRecord, ThermalZone } from './housekeeping.ts';
export { HousekeepingReader, DISK_PATHS_MAX, THERMAL_ZONES_MAX } from './housekeeping.ts';
