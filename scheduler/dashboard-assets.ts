// The dashboard page's files, read once when the API is built and served from memory: our own
// (scheduler/dashboard/: HTML, ES modules, CSS) and the libraries' browser builds straight from
// node_modules (d3-array and d3-geo UMD builds, topojson-client, world-atlas's Natural Earth
// 1:110m countries), so the page works offline and loads nothing from elsewhere. Libraries are
// read as files, not imported: country-borders.ts stays their only importer (STYLE rule 17).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrbitfedError } from '../common/index.ts';

export interface DashboardAsset {
  readonly bytes: Buffer;
  readonly contentType: string;
  /** Strong validator for conditional requests: a hash of the bytes. */
  readonly etag: string;
}

/** Asset names are plain file names (no directories): the route matches this before looking up. */
export const ASSET_NAME_PATTERN = '^[a-z0-9][a-z0-9.-]{0,63}$';
/** The whole page (our files and the libraries) is far below this; anything larger is a mistake. */
const ASSETS_BYTES_MAX = 8 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const OWN_ASSETS_DIRECTORY = fileURLToPath(new URL('./dashboard/', import.meta.url));

/** Library files the page loads, by the name it loads them under. */
function libraryFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  // d3-geo and d3-array export only their ES builds by name; the UMD builds sit beside them.
  const d3Geo = require.resolve('d3-geo');
  const d3Array = createRequire(d3Geo).resolve('d3-array');
  return {
    'd3-array.min.js': join(dirname(d3Array), 'd3-array.min.js'),
    'd3-geo.min.js': join(dirname(d3Geo), 'd3-geo.min.js'),
    'topojson-client.min.js': require.resolve('topojson-client/dist/topojson-client.min.js'),
    'countries-110m.json': require.resolve('world-atlas/countries-110m.json'),
  };
}

function asset(bytes: Buffer, name: string): DashboardAsset {
  const contentType = CONTENT_TYPES[extname(name)];
  if (contentType === undefined) throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', `no content type for ${name}`, { file: name });
  return { bytes, contentType, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` };
}

/** Every asset by name; `index.html` is the page. Throws ORBITFED_DASHBOARD_ASSET naming a missing or unreadable file. */
export function loadDashboardAssets(directory = OWN_ASSETS_DIRECTORY): ReadonlyMap<string, DashboardAsset> {
  const files: [string, string][] = [];
  try {
    // The folder's README documents the page; it is not part of it.
    for (const name of readdirSync(directory)) if (name !== 'README.md') files.push([name, join(directory, name)]);
    files.push(...Object.entries(libraryFiles()));
  } catch (error) {
    throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', `cannot list the dashboard's files: ${(error as Error).message}`, { file: directory }, { cause: error });
  }
  const assets = new Map<string, DashboardAsset>();
  let totalBytes = 0;
  for (const [name, path] of files) {
    if (!new RegExp(ASSET_NAME_PATTERN).test(name)) throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', `${name} is not a plain lower-case file name`, { file: path });
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', `cannot read a dashboard file: ${(error as Error).message}`, { file: path }, { cause: error });
    }
    totalBytes += bytes.length;
    if (totalBytes > ASSETS_BYTES_MAX) throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', `the dashboard's files pass ${ASSETS_BYTES_MAX} bytes`, { file: path });
    assets.set(name, asset(bytes, name));
  }
  if (!assets.has('index.html')) throw new OrbitfedError('ORBITFED_DASHBOARD_ASSET', 'the dashboard has no index.html', { file: directory });
  return assets;
}
