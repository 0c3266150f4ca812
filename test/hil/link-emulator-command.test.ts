// `orbitfed link-emulator` through the CLI entry: usage errors, bad files, and a run that starts
// the relays on the sample plan and stops cleanly when asked. (It sits beside the hil tests rather
// than under test/cli/ because it exercises the service this folder wires.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { Client, waitFor } from './link-harness.ts';

const SAMPLE_PLAN = fileURLToPath(new URL('../../samples/link-emulator/plan.json', import.meta.url));
const SAMPLE_MAP = fileURLToPath(new URL('../../samples/link-emulator/map.json', import.meta.url));
const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-link-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Run {
  readonly exit: Promise<number>;
  stdout(): string;
  stderr(): string;
}

function run(args: readonly string[], signal?: AbortSignal): Run {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return { exit: main(['link-emulator', ...args], { stdout, stderr, signal }), stdout: () => out, stderr: () => err };
}

/** The sample map with every port picked by the system, so the test never collides with a running rig. */
function freePortMap(): string {
  const map = JSON.parse(readFileSync(SAMPLE_MAP, 'utf8')) as { nodes: { listen: { address: string }[] }[]; control: { listen: string } };
  for (const node of map.nodes) for (const entry of node.listen) entry.address = '127.0.0.1:0';
  map.control.listen = '127.0.0.1:0';
  const file = path.join(directory, 'map.json');
  writeFileSync(file, JSON.stringify(map));
  return file;
}

describe('orbitfed link-emulator', () => {
  it('prints its help', async () => {
    const help = run(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toContain('Usage: orbitfed link-emulator --plan FILE --map FILE');
  });

  it('exits 2 naming the missing flag', async () => {
    const missing = run(['--plan', SAMPLE_PLAN]);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr()).toContain('--map is required');
  });

  it('exits 2 naming the file and field of a bad map', async () => {
    const file = path.join(directory, 'bad.json');
    writeFileSync(file, JSON.stringify({ nodes: [{ ipn: 1, target: 'nowhere', listen: [{ from: 2, address: '127.0.0.1:0' }] }] }));
    const bad = run(['--plan', SAMPLE_PLAN, '--map', file]);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toContain(`${file}: nodes[0].target: 'nowhere' is not host:port: no port [ORBITFED_LINK_MAP_INVALID]`);
  });

  it('exits 2 when the map names a node the plan does not have', async () => {
    const file = path.join(directory, 'stranger.json');
    writeFileSync(file, JSON.stringify({ planEpoch: 'start', nodes: [{ ipn: 77, target: '127.0.0.1:9', listen: [{ from: 1, address: '127.0.0.1:0' }] }] }));
    const stranger = run(['--plan', SAMPLE_PLAN, '--map', file, '--log-level', 'silent']);
    expect(await stranger.exit).toBe(2);
    expect(stranger.stderr()).toContain('node 77 (to) is not in the contact plan [ORBITFED_LINK_MAP_UNKNOWN_NODE]');
  });

  it('runs the sample rig until stopped, refusing connections before the first pass', async () => {
    const stop = new AbortController();
    const rig = run(['--plan', SAMPLE_PLAN, '--map', freePortMap(), '--log-level', 'silent'], stop.signal);
    await waitFor('the relays to start', () => rig.stderr().includes('link emulator running'));
    expect(rig.stderr()).toMatch(/control API and \/metrics on http:\/\/127\.0\.0\.1:\d+/);
    const uplink = /1→1000025544 {2}listen (127\.0\.0\.1:\d+)/.exec(rig.stderr())?.[1];
    expect(uplink).toBeDefined();
    // The sample starts at plan second 25; the first pass opens at 30.
    await expect(Client.open(uplink!)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    stop.abort();
    expect(await rig.exit).toBe(0);
  });
});
