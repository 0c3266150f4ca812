// `orbitfed demo` (what `npm start` runs): for now, the passes of the bundled sample satellites over
// the bundled stations, as a table for people. The whole-federation demo replaces it later.
import { fileURLToPath } from 'node:url';
import { loadElementFile, loadStationsFile, searchPasses } from '../contact-plans/index.ts';
import type { Command, CommandContext } from './command.ts';
import { passRecord } from './pass-output.ts';

const SAMPLE_ELEMENTS = fileURLToPath(new URL('../samples/elements.tle', import.meta.url));
const SAMPLE_STATIONS = fileURLToPath(new URL('../samples/stations.yaml', import.meta.url));
/** The sample element sets date from 2026-06-13, so the demo looks at the day after. */
const SAMPLE_WINDOW_START_MS = Date.UTC(2026, 5, 14);
const SAMPLE_WINDOW_HOURS = 6;

const HELP = `Usage: orbitfed demo

Prints the passes of the bundled sample satellites (samples/elements.tle) over the bundled
ground stations (samples/stations.yaml) for 2026-06-14 00:00-06:00 UTC, as a table.
The same computation as:
  orbitfed passes --elements samples/elements.tle --stations samples/stations.yaml \\
    --start 2026-06-14T00:00:00Z --hours ${SAMPLE_WINDOW_HOURS}`;

async function runDemo(context: CommandContext): Promise<number> {
  if (context.args.includes('--help') || context.args.includes('-h')) {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const loaded = await loadElementFile(SAMPLE_ELEMENTS, { checksum: 'strict' });
  const stations = await loadStationsFile(SAMPLE_STATIONS);
  const durationSec = SAMPLE_WINDOW_HOURS * 3600;
  const result = await searchPasses(loaded.elements, stations, { window: { startMs: SAMPLE_WINDOW_START_MS, durationSec }, defaultMinElevationDeg: 10 }, { threads: 1 });
  const report = {
    startMs: SAMPLE_WINDOW_START_MS, durationSec, defaultMinElevationDeg: 10, refraction: false,
    elements: loaded.elements, stations, table: result.table, problems: result.problems, elementIssues: loaded.issues,
  };
  const header = ['AOS (UTC)', 'LOS (UTC)', 'satellite', 'station', 'max el', 'AOS az', 'LOS az', 'min range', 'OWLT'];
  const rows = [...result.table.orderByAos()].map((i) => {
    const r = passRecord(report, i);
    return [
      r.aos.slice(0, 19).replace('T', ' '), r.los.slice(11, 19), r.satellite, r.station, `${r.maxElevationDeg.toFixed(1)}°`,
      `${r.aosAzimuthDeg.toFixed(0)}°`, `${r.losAzimuthDeg.toFixed(0)}°`, `${r.minRangeKm.toFixed(0)} km`, `${(r.owltSec * 1000).toFixed(2)} ms`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  context.stdout.write(`orbitfed: passes of ${loaded.elements.length} sample satellites over ${stations.length} stations, 2026-06-14 00:00-0${SAMPLE_WINDOW_HOURS}:00 UTC\n\n`);
  context.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n\n`);
  context.stdout.write(`${result.table.length} passes (${result.sgp4Calls} SGP4 evaluations). Try: npx orbitfed passes --help\n`);
  return 0;
}

export const demoCommand: Command = { name: 'demo', summary: 'passes of the bundled sample (what npm start runs)', help: HELP, run: runDemo };
