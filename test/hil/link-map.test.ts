// The link emulator's map file: the sample loads, and malformed files are refused with the file,
// the field and what was wrong.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { LINK_MAP_BYTES_MAX, loadLinkMapFile, parseLinkMapText } from '../../hil/index.ts';

const SAMPLE_MAP = fileURLToPath(new URL('../../samples/link-emulator/map.json', import.meta.url));
const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-link-map-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const minimal = { nodes: [{ ipn: 2, target: '127.0.0.1:4556', listen: [{ from: 1, address: '127.0.0.1:5001' }] }] };

function refusal(text: string): OrbitfedError {
  try {
    parseLinkMapText(text, 'map.json');
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return error as OrbitfedError;
  }
  throw new Error('the map was accepted');
}

const refusalOf = (value: unknown): OrbitfedError => refusal(JSON.stringify(value, null, 2));

describe('link map files', () => {
  it('loads the bundled sample with its links, faults and control address', async () => {
    const map = await loadLinkMapFile(SAMPLE_MAP);
    expect(map.links).toEqual([
      { from: 1000025544, to: 1, listen: { host: '127.0.0.1', port: 5102 }, target: { host: '127.0.0.1', port: 4556 } },
      { from: 1, to: 1000025544, listen: { host: '127.0.0.1', port: 5101 }, target: { host: '127.0.0.1', port: 4557 } },
    ]);
    expect(map).toMatchObject({
      planEpoch: { kind: 'start', startAtPlanSec: 25 },
      timeScale: 1,
      flaps: [{ from: 1, to: 1000025544, startSec: 160, downSec: 3, everySec: 3, count: 1 }],
      drops: { probabilityPerContact: 0.2, downSec: 2 },
      control: { listen: { host: '127.0.0.1', port: 9464 } },
    });
  });

  it('fills in every default', () => {
    expect(parseLinkMapText(JSON.stringify(minimal), 'map.json')).toMatchObject({
      timeScale: 1, planEpoch: { kind: 'plan' }, scaleDelaysAndRates: false, jitterMs: 0, seed: 1, queueBytesMax: 1024 * 1024,
      inFlightBytesMax: 64 * 1024 * 1024, connectionsPerLinkMax: 64, connectTimeoutMs: 5000, flaps: [], drops: undefined, control: undefined,
      processMetrics: true,
    });
  });

  it('takes an absolute plan epoch', () => {
    expect(parseLinkMapText(JSON.stringify({ ...minimal, planEpoch: '2026-06-14T00:00:00Z' }), 'map.json').planEpoch)
      .toEqual({ kind: 'instant', epochMs: Date.UTC(2026, 5, 14) });
  });

  it('refuses text that is not JSON, naming the line', () => {
    const error = refusal('{\n  "nodes": [\n    { "ipn": 2, }\n  ]\n}\n');
    expect(error.code).toBe('ORBITFED_LINK_MAP_INVALID');
    expect(error.location).toMatchObject({ file: 'map.json', line: 3 });
    expect(error.message).toMatch(/^map\.json:3: not valid JSON/);
  });

  it('says so when a .json file looks like YAML, and reads YAML from a .yaml file', () => {
    expect(refusal('nodes:\n  - ipn: 2\n').message).toContain('this looks like YAML: name the file .yaml');
    const yaml = `nodes:\n${minimal.nodes.map((n) => `  - ${JSON.stringify(n)}`).join('\n')}\n`;
    expect(parseLinkMapText(yaml, 'map.yaml').links.length).toBe(parseLinkMapText(JSON.stringify(minimal), 'map.json').links.length);
    expect(() => parseLinkMapText('nodes:\n  - ipn: 2\n   bad: [\n', 'map.yaml')).toThrow(/not valid YAML/);
  });

  it('refuses an empty file and a truncated one', () => {
    expect(refusal('  \n').message).toContain('the map file is empty');
    expect(refusal('{"nodes": [').location).toMatchObject({ line: 1 });
  });

  it('refuses unknown keys, naming the path', () => {
    const error = refusalOf({ ...minimal, timescale: 10 });
    expect(error.location.field).toBe('timescale');
    expect(error.message).toContain('Unexpected property');
  });

  it('refuses wrong types and values out of range, one line each', () => {
    const error = refusalOf({
      timeScale: 0.5,
      jitterMs: 'none',
      nodes: [{ ipn: -1, target: '127.0.0.1:4556', listen: [{ from: 1, address: '127.0.0.1:5001' }] }],
    });
    expect(error.message).toContain('timeScale');
    expect(error.message).toContain('map.json: jitterMs: Expected number (got "none")');
    expect(error.message).toContain('nodes[0].ipn');
  });

  it('refuses a map without links', () => {
    expect(refusalOf({ nodes: [{ ipn: 2, target: '127.0.0.1:4556', listen: [] }] }).message).toContain('no links');
    expect(refusalOf({ nodes: [] }).location.field).toBe('nodes');
  });

  it('refuses addresses that are not host:port', () => {
    const error = refusalOf({ nodes: [{ ipn: 2, target: 'flight-computer', listen: [{ from: 1, address: '127.0.0.1:99999' }] }] });
    expect(error.location.field).toBe('nodes[0].target');
    expect(error.message).toContain("'flight-computer' is not host:port: no port");
    expect(error.message).toContain("map.json: nodes[0].listen[0].address: '127.0.0.1:99999' is not host:port");
  });

  it('refuses a target on port 0', () => {
    expect(refusalOf({ nodes: [{ ipn: 2, target: '127.0.0.1:0', listen: [{ from: 1, address: '127.0.0.1:5001' }] }] }).message).toContain('a target needs a real port');
  });

  it('refuses a node listed twice, a link mapped twice, a node linked to itself and a listen address used twice', () => {
    const error = refusalOf({
      nodes: [
        { ipn: 2, target: '127.0.0.1:4556', listen: [{ from: 1, address: '127.0.0.1:5001' }, { from: 1, address: '127.0.0.1:5002' }, { from: 2, address: '127.0.0.1:5003' }] },
        { ipn: 2, target: '127.0.0.1:4557', listen: [{ from: 3, address: '127.0.0.1:5001' }] },
      ],
    });
    expect(error.message).toContain('nodes[0].listen[1].from: link 1→2 is mapped twice (first at nodes[0].listen[0])');
    expect(error.message).toContain('nodes[0].listen[2].from: a link joins two different nodes');
    expect(error.message).toContain('nodes[1].ipn: node 2 is listed twice (first at nodes[0])');
    expect(error.message).toContain('nodes[1].listen[0].address: 127.0.0.1:5001 is already the listen address of nodes[0].listen[0]');
  });

  it('refuses flaps for links that are not mapped, half-named links and periods shorter than the outage', () => {
    const error = refusalOf({
      ...minimal,
      flaps: [
        { from: 3, to: 2, startSec: 0, downSec: 1 },
        { from: 1, startSec: 0, downSec: 1 },
        { from: 1, to: 2, startSec: 0, downSec: 5, everySec: 5, count: 3 },
        { from: 1, to: 2, startSec: 0, downSec: 5, count: 3 },
      ],
    });
    expect(error.message).toContain('no link 3→2 is mapped');
    expect(error.message).toContain('flaps[1]: give both from and to');
    expect(error.message).toContain('flaps[2].everySec: must exceed downSec (5)');
    expect(error.message).toContain('flaps[3].everySec: repeated outages (count > 1) need everySec');
  });

  it('refuses an epoch it cannot read and startAtPlanSec without "start"', () => {
    expect(refusalOf({ ...minimal, planEpoch: 'yesterday' }).message).toContain('planEpoch: must be "start" or an ISO 8601 instant');
    expect(refusalOf({ ...minimal, planEpoch: '2026-06-14T00:00:00' }).message).toContain('with a zone');
    expect(refusalOf({ ...minimal, startAtPlanSec: 10 }).message).toContain('only with "planEpoch": "start"');
  });

  it('refuses files it cannot read or that are too large, before parsing them', async () => {
    await expect(loadLinkMapFile(path.join(directory, 'missing.json'))).rejects.toMatchObject({ code: 'ORBITFED_LINK_MAP_READ', message: expect.stringContaining('no such file') });
    const large = path.join(directory, 'large.json');
    writeFileSync(large, ' '.repeat(LINK_MAP_BYTES_MAX + 1));
    await expect(loadLinkMapFile(large)).rejects.toMatchObject({ code: 'ORBITFED_LINK_MAP_TOO_LARGE' });
    const binary = path.join(directory, 'binary.json');
    writeFileSync(binary, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    await expect(loadLinkMapFile(binary)).rejects.toMatchObject({ code: 'ORBITFED_LINK_MAP_INVALID', message: expect.stringContaining('not valid UTF-8') });
  });
});
