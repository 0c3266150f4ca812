// Pass tables as people and pipes read them: CSV (the oracle's column names for the columns it
// shares) and JSON. Written in chunks so millions of passes never become one giant string.
import { isoFromUnixMicros, unixMicros, unixSecondsText } from '../common/index.ts';
import { type ElementIssue, type ElementSet, owltSecForRangeKm, PassFlags, type PassTable, type SatelliteProblem, type Station } from '../contact-plans/index.ts';

export type PassFormat = 'csv' | 'json';

export interface PassReport {
  readonly startMs: number;
  readonly durationSec: number;
  readonly defaultMinElevationDeg: number;
  readonly refraction: boolean;
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly table: PassTable;
  readonly problems: readonly SatelliteProblem[];
  readonly elementIssues: readonly ElementIssue[];
}

export const CSV_COLUMNS = [
  'sat_name', 'norad', 'station', 'aos_utc', 'tca_utc', 'los_utc', 'max_el_deg', 'duration_s',
  'aos_truncated', 'los_truncated', 'aos_unix_s', 'tca_unix_s', 'los_unix_s',
  'aos_az_deg', 'los_az_deg', 'min_range_km', 'owlt_s', 'always_visible',
] as const;

const ROWS_PER_CHUNK = 4096;

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}


export interface PassRecord {
  readonly norad: string;
  readonly satellite: string;
  readonly station: string;
  readonly aos: string;
  readonly tca: string;
  readonly los: string;
  readonly aosUnixSec: number;
  readonly tcaUnixSec: number;
  readonly losUnixSec: number;
  readonly durationSec: number;
  readonly maxElevationDeg: number;
  readonly aosAzimuthDeg: number;
  readonly losAzimuthDeg: number;
  readonly minRangeKm: number;
  readonly owltSec: number;
  readonly aosTruncated: boolean;
  readonly losTruncated: boolean;
  readonly alwaysVisible: boolean;
}

/** One pass as a plain record (for JSON and for callers that want objects). */
export function passRecord(report: PassReport, i: number): PassRecord {
  const row = report.table.row(i);
  const element = report.elements[row.satellite]!;
  const round = (x: number, digits: number): number => Number(x.toFixed(digits));
  // Every time is rounded once, to whole microseconds, so ISO text, Unix seconds and duration agree.
  const aosMicros = unixMicros(report.startMs, row.aosSec * 1000);
  const tcaMicros = unixMicros(report.startMs, row.tcaSec * 1000);
  const losMicros = unixMicros(report.startMs, row.losSec * 1000);
  return {
    norad: element.catalogNumber,
    satellite: element.name,
    station: report.stations[row.station]!.id,
    aos: isoFromUnixMicros(aosMicros),
    tca: isoFromUnixMicros(tcaMicros),
    los: isoFromUnixMicros(losMicros),
    aosUnixSec: Number(unixSecondsText(aosMicros)),
    tcaUnixSec: Number(unixSecondsText(tcaMicros)),
    losUnixSec: Number(unixSecondsText(losMicros)),
    durationSec: (losMicros - aosMicros) / 1e6,
    maxElevationDeg: round(row.maxElevationDeg, 6),
    aosAzimuthDeg: round(row.aosAzimuthDeg, 3),
    losAzimuthDeg: round(row.losAzimuthDeg, 3),
    minRangeKm: round(row.minRangeKm, 3),
    owltSec: round(owltSecForRangeKm(row.minRangeKm), 9),
    aosTruncated: (row.flags & PassFlags.aosTruncated) !== 0,
    losTruncated: (row.flags & PassFlags.losTruncated) !== 0,
    alwaysVisible: (row.flags & PassFlags.alwaysVisible) !== 0,
  };
}

function csvRow(report: PassReport, i: number): string {
  const r = passRecord(report, i);
  return [
    csvCell(r.satellite), r.norad, csvCell(r.station), r.aos, r.tca, r.los, r.maxElevationDeg.toFixed(6),
    r.durationSec.toFixed(6), r.aosTruncated ? '1' : '0', r.losTruncated ? '1' : '0',
    r.aosUnixSec.toFixed(6), r.tcaUnixSec.toFixed(6), r.losUnixSec.toFixed(6),
    r.aosAzimuthDeg.toFixed(3), r.losAzimuthDeg.toFixed(3), r.minRangeKm.toFixed(3), r.owltSec.toFixed(9), r.alwaysVisible ? '1' : '0',
  ].join(',');
}

/** The report as text chunks, passes ordered by AOS. */
export function* formatPasses(report: PassReport, format: PassFormat): Generator<string> {
  const order = report.table.orderByAos();
  if (format === 'csv') {
    yield `${CSV_COLUMNS.join(',')}\n`;
    for (let start = 0; start < order.length; start += ROWS_PER_CHUNK) {
      const rows: string[] = [];
      for (let j = start; j < Math.min(order.length, start + ROWS_PER_CHUNK); j += 1) rows.push(csvRow(report, order[j]!));
      yield `${rows.join('\n')}\n`;
    }
    return;
  }
  const header = {
    window: {
      start: isoFromUnixMicros(unixMicros(report.startMs, 0)),
      end: isoFromUnixMicros(unixMicros(report.startMs, report.durationSec * 1000)),
      durationSec: report.durationSec,
    },
    elevation: { defaultMinElevationDeg: report.defaultMinElevationDeg, refraction: report.refraction ? 'standard' : 'none' },
    ut1MinusUtcSec: 0,
    satellites: report.elements.length,
    stations: report.stations.map((s) => s.id),
    passCount: report.table.length,
    problems: report.problems.map((p) => ({
      norad: report.elements[p.satellite]!.catalogNumber, satellite: report.elements[p.satellite]!.name, code: p.code, message: p.message,
    })),
    elementIssues: report.elementIssues,
  };
  const headerText = JSON.stringify(header, null, 2);
  yield `${headerText.slice(0, -2)},\n  "passes": [`;
  for (let start = 0; start < order.length; start += ROWS_PER_CHUNK) {
    const rows: string[] = [];
    for (let j = start; j < Math.min(order.length, start + ROWS_PER_CHUNK); j += 1) rows.push(`\n    ${JSON.stringify(passRecord(report, order[j]!))}`);
    yield (start === 0 ? '' : ',') + rows.join(',');
  }
  yield '\n  ]\n}\n';
}
