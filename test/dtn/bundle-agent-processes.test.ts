// Issue 4, "Done when": two agents that see each other only during scheduled contacts exchange
// bundles reliably across process crashes. Two real processes (agent-process.ts), each a
// BundleAgent on its own store, talking through the libp2p convergence layer on 127.0.0.1 on wall
// time, with a contact plan that opens their link for 3 s every 6 s. Each sends 50 bundles to the
// other while the contacts open and close; process B is killed with SIGKILL during a contact,
// restarted a few seconds later on the same store, and sends the rest of its bundles.
// Checked:
// - every bundle whose send() returned (a SENT line: durably stored at its source) reaches the other
//   side's application exactly once. A delivery counts once its transaction committed (a COMMIT line
//   after its RECV line); a RECV after the last COMMIT of the killed run may or may not have
//   committed, and counts if the bundle is not delivered again later (the store's record decides,
//   as in the store's own crash test). After both processes stopped, each store is opened and must
//   remember every such bundle as delivered;
// - nothing is sent while the contact is closed: every hand-over to the convergence layer (TX) is
//   inside a window by the agent's clock, and every reception inside a window plus a small
//   tolerance for the loopback and the delivery transaction.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleStore } from '../../dtn/bundle-store.ts';
import type { AgentProcessConfig } from './agent-process.ts';

const SCRIPT = fileURLToPath(new URL('./agent-process.ts', import.meta.url));
const WINDOWS: readonly (readonly [number, number])[] = [[0, 3], [6, 9], [12, 15], [18, 21], [24, 27]];
const BUNDLES_EACH = 50;
const SEND_EVERY_MS = 150;
const PAYLOAD_BYTES = 2_000;
/** Fast enough for a window to carry the backlog, slow enough that B dies with bundles queued: ~50 ms per bundle. */
const RATE_BYTES_PER_SEC = 40_000;
/** How long loading a process (Node, libp2p) may take. */
const LOAD_TIMEOUT_MS = 20_000;
/** From both processes loaded to the plan's second 0. */
const START_MS = 500;
const KILL_AT_SEC = 6.6;
const RESTART_AT_SEC = 10;
const GIVE_UP_AT_SEC = 26;
/** Loopback, the store's commit and the event loop, between the sender's hand-over and the RECV line. */
const RECEIVE_TOLERANCE_MS = 500;

/** A port nobody listens on now (the kernel's pick, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Run {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  stderr: string;
  readonly exited: Promise<void>;
  killed: boolean;
}

function startRun(name: string, config: AgentProcessConfig, compileCache: string): Run {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_COMPILE_CACHE: compileCache },
  });
  let buffered = '';
  const run: Run = {
    name,
    child,
    lines: [],
    stderr: '',
    killed: false,
    exited: new Promise((resolve) => child.on('close', () => resolve())),
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const end = buffered.lastIndexOf('\n');
    if (end < 0) return;
    // Only whole lines count: a line cut by the kill was never written.
    run.lines.push(...buffered.slice(0, end).split('\n'));
    buffered = buffered.slice(end + 1);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { run.stderr += chunk; });
  return run;
}

async function until(condition: () => boolean, deadlineMs: number): Promise<void> {
  while (!condition() && Date.now() < deadlineMs) await sleep(20);
}

const fields = (runs: readonly Run[], verb: string): { run: Run; parts: string[] }[] =>
  runs.flatMap((run) => run.lines.filter((l) => l.startsWith(`${verb} `)).map((l) => ({ run, parts: l.split(' ').slice(1) })));

/** The key of a SENT/TX/RECV line: bundle keys hold spaces ("ipn:1.0 <time> <sequence>"). */
const keyAt = (parts: string[], from: number): string => parts.slice(from, from + 3).join(' ');

/**
 * Deliveries per key at one receiver across its runs: RECVs before a COMMIT of their run count; a
 * killed run's RECVs after its last COMMIT count only if the key is not delivered again later. Once
 * the runs have ended (`ended`), a RECV without its COMMIT in a run that was not killed is an error.
 */
function deliveriesPerKey(runs: readonly Run[], ended: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  const maybe: { key: string; runIndex: number }[] = [];
  runs.forEach((run, runIndex) => {
    const lastCommit = run.lines.lastIndexOf('COMMIT');
    run.lines.forEach((line, i) => {
      if (!line.startsWith('RECV ')) return;
      const key = keyAt(line.split(' '), 1);
      if (i < lastCommit) counts.set(key, (counts.get(key) ?? 0) + 1);
      else if (run.killed) maybe.push({ key, runIndex });
      else if (ended) throw new Error(`${run.name} stopped gracefully with ${key} delivered but not committed`);
    });
  });
  for (const { key, runIndex } of maybe) {
    const later = runs.slice(runIndex + 1).some((run) => run.lines.some((l) => l.startsWith('RECV ') && keyAt(l.split(' '), 1) === key));
    if (!later) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('two agent processes that see each other only during scheduled contacts', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('exchange every acknowledged bundle exactly once across a kill -9 during a contact, sending only while a contact is open', async () => {
    dir = await mkdtemp(join(tmpdir(), 'orbitfed-agent-processes-'));
    const compileCache = join(dir, 'compile-cache');
    const [portA, portB] = [await freePort(), await freePort()];
    const base = { windows: WINDOWS, rateBytesPerSec: RATE_BYTES_PER_SEC, sendEveryMs: SEND_EVERY_MS, payloadBytes: PAYLOAD_BYTES };
    const configA: AgentProcessConfig = { ...base, node: 1, peer: 2, storePath: join(dir, 'a.db'), port: portA, peerPort: portB, firstIndex: 0, count: BUNDLES_EACH };
    const configB: AgentProcessConfig = { ...base, node: 2, peer: 1, storePath: join(dir, 'b.db'), port: portB, peerPort: portA, firstIndex: 0, count: BUNDLES_EACH };
    const a = startRun('A', configA, compileCache);
    const b1 = startRun('B run 1', configB, compileCache);
    const runs = [a, b1];
    try {
      await until(() => a.lines.includes('READY') && b1.lines.includes('READY'), Date.now() + LOAD_TIMEOUT_MS);
      expect([a.lines.includes('READY'), b1.lines.includes('READY')], `${a.stderr}${b1.stderr}`).toEqual([true, true]);
      const epochMs = Date.now() + START_MS;
      const at = (seconds: number): number => epochMs + seconds * 1000;
      for (const run of runs) run.child.stdin!.end(`GO ${epochMs}\n`);

      await until(() => false, at(KILL_AT_SEC));
      b1.killed = true;
      b1.child.kill('SIGKILL');
      await b1.exited;
      const sentByB1 = fields([b1], 'SENT').length;
      await until(() => false, at(RESTART_AT_SEC));
      const b2 = startRun('B run 2', { ...configB, epochMs, firstIndex: sentByB1, count: BUNDLES_EACH - sentByB1 }, compileCache);
      runs.push(b2);
      const sent = (from: readonly Run[]): string[] => fields(from, 'SENT').map(({ parts }) => keyAt(parts, 1));
      const allDelivered = (): boolean => {
        const atB = deliveriesPerKey([b1, b2], false);
        const atA = deliveriesPerKey([a], false);
        return sent([a]).length === BUNDLES_EACH && sent([b1, b2]).length === BUNDLES_EACH
          && sent([a]).every((k) => atB.has(k)) && sent([b1, b2]).every((k) => atA.has(k));
      };
      await until(allDelivered, at(GIVE_UP_AT_SEC));
      for (const run of [a, b2]) run.child.kill('SIGTERM');
      await Promise.all([a.exited, b2.exited]);

      const stderr = runs.map((r) => r.stderr).join('');
      const sentByA = sent([a]);
      const sentByB = sent([b1, b2]);
      const atA = deliveriesPerKey([a], true);
      const atB = deliveriesPerKey([b1, b2], true);
      expect(sentByA, stderr).toHaveLength(BUNDLES_EACH);
      expect(sentByB, stderr).toHaveLength(BUNDLES_EACH);
      expect(sentByA.filter((k) => atB.get(k) !== 1), `A's bundles not delivered exactly once at B\n${stderr}`).toEqual([]);
      expect(sentByB.filter((k) => atA.get(k) !== 1), `B's bundles not delivered exactly once at A\n${stderr}`).toEqual([]);
      // B may have stored one bundle it was killed before reporting as sent; it travels like any other.
      expect([...atA.keys()].filter((k) => !sentByB.includes(k)).length).toBeLessThanOrEqual(1);
      expect([...atB.keys()].filter((k) => !sentByA.includes(k))).toEqual([]);

      const inWindow = (ms: number, toleranceMs: number): boolean => WINDOWS.some(([s, e]) => ms >= at(s) && ms <= at(e) + toleranceMs);
      const transmissions = fields(runs, 'TX').map(({ run, parts }) => ({ run: run.name, ms: Number(parts[3]) }));
      const receptions = fields(runs, 'RECV').map(({ run, parts }) => ({ run: run.name, ms: Number(parts[4]) }));
      expect(transmissions.length).toBeGreaterThanOrEqual(2 * BUNDLES_EACH);
      expect(transmissions.filter((t) => !inWindow(t.ms, 0)).map((t) => `${t.run} at ${(t.ms - epochMs) / 1000} s`)).toEqual([]);
      expect(receptions.filter((r) => !inWindow(r.ms, RECEIVE_TOLERANCE_MS)).map((r) => `${r.run} at ${(r.ms - epochMs) / 1000} s`)).toEqual([]);
      // The kill came during a contact, with the link in use.
      expect(inWindow(at(KILL_AT_SEC), 0)).toBe(true);
      expect(transmissions.some((t) => t.ms >= at(6) && t.ms < at(KILL_AT_SEC))).toBe(true);

      for (const [path, keys] of [[configA.storePath, sentByB], [configB.storePath, sentByA]] as const) {
        const store = BundleStore.open(path, { capacityBytes: 64 * 1024 * 1024, capacityBundles: 10_000 });
        try {
          expect(keys.filter((k) => store.keyStatus(k) !== 'delivered')).toEqual([]);
          expect(store.verify()).toEqual({ ok: true, problems: [] });
        } finally {
          store.close();
        }
      }
      console.log(`agent processes: ${sentByA.length} + ${sentByB.length} bundles, B killed at ${KILL_AT_SEC} s after sending ${sentByB1}, `
        + `${transmissions.length} hand-overs to the CL, ${receptions.length} receptions; last reception at `
        + `${((Math.max(...receptions.map((r) => r.ms)) - epochMs) / 1000).toFixed(1)} s`);
    } finally {
      for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await Promise.all(runs.map((r) => r.exited));
    }
  });
});
