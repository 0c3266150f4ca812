// Public entry of common/: the only file other folders import.
export type { Clock, TimerHandle } from './clock.ts';
export { RealClock, VirtualClock } from './clock.ts';
export type { ErrorLocation } from './errors.ts';
export { OrbitfedError, formatLocated } from './errors.ts';
export type { DurationMs, UnixMs } from './units.ts';
export { durationMs, unixMs, MS_PER_DAY, MS_PER_SECOND, SPEED_OF_LIGHT_KM_PER_SEC } from './units.ts';
export { isoFromMicros, isoFromUnixMicros, unixMicros, unixSecondsText } from './iso-time.ts';
export type { BoundedFileRead } from './bounded-file.ts';
export { readBoundedFile, readBoundedTextFile } from './bounded-file.ts';
export { seededRng } from './seeded-rng.ts';
export { replaceFileDurably, syncDirectoryOf } from './durable-file.ts';
export type { Logger, LoggerOptions, LogLevel } from './logger.ts';
export { createLogger, LOG_LEVELS, silentLogger } from './logger.ts';
export type { CounterMetric, GaugeMetric, HistogramMetric } from './metrics.ts';
export { MetricsRegistry } from './metrics.ts';
export type { DatabaseKind } from './durable-database.ts';
export { databaseError, openDurableDatabase, sqlitePrimaryCode } from './durable-database.ts';
