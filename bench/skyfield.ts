// Runs the Skyfield anchor (`anchors/skyfield_find_events.py`) in a Python child process. Skyfield
// is optional: machines without it get `undefined` from `findSkyfieldPython` and the report says so.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SCRIPT_PATH = fileURLToPath(new URL('./anchors/skyfield_find_events.py', import.meta.url));
/** A run over ~100 satellite-station-days takes seconds; anything near this is a hung interpreter. */
const SKYFIELD_RUN_TIMEOUT_MS = 10 * 60 * 1000;
const PROBE_TIMEOUT_MS = 30 * 1000;

export const SKYFIELD_INSTALL_HINT = 'python3-skyfield not installed (apt-get install python3-skyfield)';

export interface SkyfieldRun {
  /** Median over the runs made inside the Python process, seconds. */
  readonly seconds: number;
  readonly runSeconds: readonly number[];
  readonly events: number;
  readonly passes: number;
  readonly satellites: number;
  readonly stations: number;
  readonly skyfield: string;
  readonly python: string;
  /** Whether python-sgp4 runs its C++ extension; pure-Python SGP4 makes Skyfield several times slower. */
  readonly sgp4Accelerated: boolean;
}

export interface SkyfieldRequest {
  readonly tlePath: string;
  readonly stationsPath: string;
  readonly startIso: string;
  readonly durationHours: number;
  readonly maskDeg: number;
  readonly satellites?: number;
  readonly stations?: number;
  readonly runs?: number;
}

/**
 * The first interpreter that can import skyfield: `$BENCH_PYTHON`, then `python3` on the PATH, then
 * `/usr/bin/python3` (where Debian's python3-skyfield lives when a pyenv or venv python3 shadows it).
 */
export async function findSkyfieldPython(): Promise<string | undefined> {
  const candidates = [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => c !== undefined && c !== '');
  for (const python of new Set(candidates)) {
    try {
      await execFileAsync(python, ['-c', 'import skyfield.api'], { timeout: PROBE_TIMEOUT_MS });
      return python;
    } catch {
      // Not there or cannot import it: try the next one.
    }
  }
  return undefined;
}

export async function runSkyfield(python: string, request: SkyfieldRequest): Promise<SkyfieldRun> {
  const args = [SCRIPT_PATH, request.tlePath, request.stationsPath, request.startIso, String(request.durationHours), String(request.maskDeg)];
  if (request.satellites !== undefined) args.push('--satellites', String(request.satellites));
  if (request.stations !== undefined) args.push('--stations', String(request.stations));
  if (request.runs !== undefined) args.push('--runs', String(request.runs));
  const { stdout } = await execFileAsync(python, args, { timeout: SKYFIELD_RUN_TIMEOUT_MS });
  return JSON.parse(stdout) as SkyfieldRun;
}
