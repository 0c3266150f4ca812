// `orbitfed demo` as `npm start` runs it, for real: its own process, child processes for the
// validators and the scheduler, the printed API key used over HTTP, and SIGTERM stopping every
// child. To keep CI time down (one process costs ~2 s of CPU to load on a shared 2-core runner):
// one validator instead of four and no agents (`--no-agents`; with the 14 agents and the link
// emulator this test takes ~70 s here). test/hil/federation.test.ts runs agents and the emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-demo-test-'));
let demo: ChildProcess | undefined;

afterAll(() => {
  if (demo !== undefined && demo.exitCode === null) demo.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Collects the demo's standard output and resolves once `pattern` appears in it. */
function waitForOutput(child: ChildProcess, read: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output so far:\n${read()}`)), timeoutMs);
    const check = (): void => {
      const match = read().match(pattern);
      if (match !== null) {
        clearTimeout(timer);
        child.stdout!.removeListener('data', check);
        resolve(match);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before ${pattern}; output:\n${read()}`));
    });
    check();
  });
}

describe('orbitfed demo', () => {
  it('runs a federation, takes a sovereignty-constrained job with the printed key, and stops every process on SIGTERM', async () => {
    const dir = join(scratch, 'run');
    demo = spawn(process.execPath, [ORBITFED, 'demo', '--dir', dir, '--port', '0', '--mqtt-port', '0', '--validators', '1', '--no-agents', '--jobs', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    demo.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    demo.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    await waitForOutput(demo, () => `${out}\n${err}`, /orbitfed demo: ready/, 90_000);

    const apiUrl = out.match(/API +(http:\/\/127\.0\.0\.1:\d+)\/v1/)![1]!;
    const apiKey = out.match(/API key +(ofk_[A-Za-z0-9_-]+)/)![1]!;
    const pids = [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.every(alive)).toBe(true);
    expect(out).toMatch(/MQTT +mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(existsSync(join(dir, 'logs', 'scheduler.log'))).toBe(true);
    expect(readFileSync(join(dir, 'secrets', 'eu-agency.key'), 'utf8').trim()).toBe(apiKey);

    // The printed request, as a person would paste it: its body is the EU-sovereign job.
    const curl = out.match(/^curl -sS -X POST .*$/m)![0];
    const body = curl.match(/-d '(.*)'$/)![1]!;
    const submitted = await fetch(`${apiUrl}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
    const job = (await submitted.json()) as { id: string; state: string; placement: { nodeId: string; resultStation: string } };
    expect(submitted.status, JSON.stringify(job)).toBe(201);
    expect(job.state).toBe('placed');
    // orbital: required, and the result may come down only in the EU: Kiruna (SE) is the one EU station.
    expect(job.placement.resultStation).toBe('kiruna');
    const nodes = (await (await fetch(`${apiUrl}/v1/nodes`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { nodes: { id: string; spec?: { kind: string }; kind?: string }[] };
    const placedOn = nodes.nodes.find((n) => n.id === job.placement.nodeId);
    expect(placedOn?.spec?.kind ?? placedOn?.kind).toBe('orbital');

    // A wrong key is refused, and a body that is not JSON is answered precisely; the demo keeps running.
    expect((await fetch(`${apiUrl}/v1/jobs`, { headers: { authorization: 'Bearer ofk_wrong' } })).status).toBe(401);
    expect((await fetch(`${apiUrl}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: '{"name":' })).status).toBe(400);

    const exited = new Promise<number | null>((resolve) => demo!.once('exit', (code) => resolve(code)));
    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/orbitfed demo: stopped/);
    expect(pids.filter(alive)).toEqual([]);
  }, 150_000);

  it('refuses a working directory that is not empty, and bad flags, with a precise message', async () => {
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'something'), 'kept');
    const notEmpty = await runCli(['demo', '--dir', full]);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/is not empty.*ORBITFED_FEDERATION_DIR_NOT_EMPTY/);
    expect(readFileSync(join(full, 'something'), 'utf8')).toBe('kept');

    const scale = await runCli(['demo', '--time-scale', '0.5']);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toMatch(/--time-scale must be a number from 1 to 10000 \(got '0\.5'\)/);
    const jobs = await runCli(['demo', '--jobs', '1.5']);
    expect(jobs.stderr).toMatch(/--jobs must be a whole number/);
    const unknown = await runCli(['demo', '--satellites', '3']);
    expect(unknown.stderr).toMatch(/Unknown option '--satellites'/);
  });
});
