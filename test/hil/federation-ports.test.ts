// Free loopback ports for a federation: distinct, below the ephemeral range, and never the same for
// two orbitfed processes drawing at once (the claims directory).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { claimLoopbackPort, freeLoopbackPortRange, freeLoopbackPorts, PORT_CLAIM_TTL_MS, PORT_CLAIMS_DIR } from '../../hil/federation-ports.ts';

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-ports-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PORTS_MODULE = pathToFileURL(join(import.meta.dirname, '../../hil/federation-ports.ts')).href;

/**
 * Runs `freeLoopbackPorts(count)` in a separate Node process using `claimsDir` and resolves to its
 * ports; the process then stays alive (as a federation's does while its processes start) until
 * `release` is called.
 */
function portsFromAnotherProcess(count: number, claimsDir: string): { ports: Promise<number[]>; release: () => void } {
  const script = `const { freeLoopbackPorts } = await import(${JSON.stringify(PORTS_MODULE)});
process.stdout.write(JSON.stringify(await freeLoopbackPorts(${count})) + '\\n');
process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ORBITFED_PORT_CLAIMS_DIR: claimsDir }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const ports = new Promise<number[]>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.endsWith('\n')) resolve(JSON.parse(out) as number[]);
    });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`child exited ${code} before answering: ${err}`)));
  });
  return { ports, release: () => child.stdin.end() };
}

describe('free loopback ports', () => {
  it('gives distinct ports below the ephemeral range, each claimed by this process', async () => {
    const ports = await freeLoopbackPorts(40);
    expect(new Set(ports).size).toBe(40);
    const low = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]!, 10);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(low);
      expect(readFileSync(join(PORT_CLAIMS_DIR, String(port)), 'latin1').trim()).toBe(String(process.pid));
    }
  });

  it('gives a run of consecutive ports, all claimed', async () => {
    const base = await freeLoopbackPortRange(8);
    for (let i = 0; i < 8; i += 1) expect(readFileSync(join(PORT_CLAIMS_DIR, String(base + i)), 'latin1').trim()).toBe(String(process.pid));
  });

  it('never gives two processes drawing at the same time the same port', async () => {
    // ~2 × 1,500 of ~12,800 ports: without the claims about 170 would be drawn by both.
    const dir = join(scratch, 'concurrent');
    const first = portsFromAnotherProcess(1_500, dir);
    const second = portsFromAnotherProcess(1_500, dir);
    const [a, b] = await Promise.all([first.ports, second.ports]).finally(() => {
      first.release();
      second.release();
    });
    expect(a).toHaveLength(1_500);
    expect(b).toHaveLength(1_500);
    expect(a.filter((port) => b.includes(port))).toEqual([]);
  }, 60_000);
});

describe('a port claim', () => {
  it('is refused while another live process holds it, and taken once that process is gone', () => {
    const dir = join(scratch, 'claims');
    expect(claimLoopbackPort(20_001, dir)).toBe(true);
    // pid 1 always runs: its fresh claim holds.
    writeFileSync(join(dir, '20002'), '1\n');
    expect(claimLoopbackPort(20_002, dir)).toBe(false);
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(dir, '20003'), `${gone}\n`);
    expect(claimLoopbackPort(20_003, dir)).toBe(true);
    expect(readFileSync(join(dir, '20003'), 'latin1').trim()).toBe(String(process.pid));
  });

  it('expires after its time to live even when its process still runs', () => {
    const dir = join(scratch, 'expired');
    expect(claimLoopbackPort(20_004, dir)).toBe(true);
    writeFileSync(join(dir, '20004'), '1\n');
    const past = new Date(Date.parse('2026-01-01T00:00:00Z'));
    utimesSync(join(dir, '20004'), past, past);
    expect(PORT_CLAIM_TTL_MS).toBeLessThan(Date.parse('2026-11-01T00:00:00Z') - past.getTime());
    expect(claimLoopbackPort(20_004, dir)).toBe(true);
  });

  it('treats a claim it cannot read as not held, and a directory it cannot write as no claims at all', () => {
    const dir = join(scratch, 'garbled');
    expect(claimLoopbackPort(20_005, dir)).toBe(true);
    writeFileSync(join(dir, '20006'), 'not a pid');
    expect(claimLoopbackPort(20_006, dir)).toBe(true);
    const notADir = join(scratch, 'a-file');
    writeFileSync(notADir, '');
    expect(claimLoopbackPort(20_007, notADir)).toBe(true);
  });
});
