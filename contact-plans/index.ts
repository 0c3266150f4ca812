// Public entry of contact-plans/: the only file other folders import (STYLE rule 1).
export type { ElementFormat, ElementIssue, ElementLoadResult, ElementSet, ElementSource, EpochUtc } from './element-set.ts';
export { epochUnixMs } from './element-set.ts';
export type { ElementLoadOptions } from './element-file.ts';
export { detectElementFormat, loadElementFile, loadElementText, ELEMENT_FILE_SIZE_BYTES_MAX } from './element-file.ts';
export type { ElementAgeOptions } from './element-age.ts';
export { classifyElementAge, LEO_STALE_AFTER_DAYS, STALE_AFTER_DAYS, TOO_OLD_AFTER_DAYS } from './element-age.ts';
export { parseTle } from './tle.ts';
export { parseOmmCsv, parseOmmJson, parseOmmKvn, parseOmmXml } from './omm.ts';
export type { HorizonMaskPoint, Station } from './station.ts';
export type { StationsFormat } from './stations-file.ts';
export { loadStationsFile, parseStationsText, StationSchema, StationsFileSchema } from './stations-file.ts';
export type { Propagator, PropagatorResult } from './sgp4.ts';
export { createPropagator, sgp4StatusText } from './sgp4.ts';
export type { Pointing } from './pointing.ts';
export { PointingSolver } from './pointing.ts';
export type { PassColumns, PassRow } from './pass-table.ts';
export { PassFlags, PassTable } from './pass-table.ts';
export type { PassSearchOptions, SatelliteProblem } from './passes.ts';
export { findPasses, owltSecForRangeKm } from './passes.ts';
export type { ParallelOptions, PassSearchSummary } from './pass-search.ts';
export { searchPasses, PASS_THREADS_MAX } from './pass-search.ts';
export type { TimeWindow } from './trajectory.ts';
export type { DefaultRates, PlanBuildInput, SatelliteWindow, SatelliteWindowColumns, TerrestrialLink } from './plan-builder.ts';
export { buildContactPlan, DEFAULT_RATES, groundMesh, satelliteIpn, SATELLITE_IPN_BASE, stationIpn } from './plan-builder.ts';
// The plan model, its file formats, bookings and routing (plan.ts, a second public entry without
// element sets, SGP4 and pass searches).
export * from './plan.ts';
export type { IslParallelOptions, IslRow, IslSearchOptions, IslSearchResult } from './isl.ts';
export { findIslWindows, IslFlags, IslTable, searchIslWindows, ISL_GRAZING_ALTITUDE_KM_DEFAULT, ISL_MAX_RANGE_KM_DEFAULT } from './isl.ts';
