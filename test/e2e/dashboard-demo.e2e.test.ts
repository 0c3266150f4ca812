// The dashboard end to end against the real demo (issue 10): `orbitfed demo` started as a child
// process the way a person starts it, with its 4 validators, scheduler, link emulator, MQTT broker
// and 14 agents; Debian's Chromium (driven by playwright-core) opens the dashboard link the demo
// printed. The map draws the demo's 6 stations and 8 satellites; a job submitted with the printed
// request and key appears in the page and, live (the page never reloads), is dispatched to its
// satellite, runs, comes down at Kiruna and is settled by the validators, which the job's detail
// shows with the placement's explanation; the ledger shows the validators' heights. Screenshots
// (laptop 1366×800, phone 390×844) go to test/out/ (git-ignored). Ctrl-C (SIGINT to the demo's
// process group, as a terminal sends it) stops everything: exit status 0 and no process left.
//
// Time: 120× plan time, so a job that waits for a pass finishes in tens of wall seconds, while the
// 24-hour plan lasts 12 wall minutes (starting the federation on a loaded 2-core machine can take a
// minute or two, which is hours of plan time at 120×). Every wait is generous and its failure
// message carries the end of the demo's output and the scheduler's log.
//
// `--duration-sec 900` bounds the demo by itself should this test process die; Ctrl-C still stops it
// at once (the exit this test checks). Whatever of the demo's process group is still alive when this
// file's tests end, or when the test process exits, is killed.
//
// Skipped, loudly, only when /usr/bin/chromium is missing (`.ci/run` installs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPING the dashboard's browser test against the demo: ${CHROMIUM} is missing. Install it: apt-get install -y chromium\n${'!'.repeat(100)}\n`);
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The pinned Node 24 (the Node on PATH may be too old to run our .ts files). */
const NODE = join(REPO, 'node_modules', '.bin', 'node');
const OUT = fileURLToPath(new URL('../out/', import.meta.url));

const TIME_SCALE = 120;
/** Writing the plan and starting 20 processes (4 validators first) on a loaded 2-core machine. */
const DEMO_READY_TIMEOUT_MS = 240_000;
/** Attempts at starting the demo when it loses a race for a port it picked (what a person would do: run it again). */
const DEMO_START_ATTEMPTS = 3;
/** A job at 120×: waiting for its satellite's pass, the run, the downlink pass, the receipt's settlement. */
const JOB_DONE_TIMEOUT_MS = 240_000;
/** The demo's stop: agents, link emulator, scheduler, validators, each group SIGTERM then SIGKILL after 10 s. */
const DEMO_STOP_TIMEOUT_MS = 90_000;
const PAGE_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 3_000;

/** The demo as a child process, with what it printed so far. */
interface RunningDemo {
  readonly child: ChildProcess;
  readonly dir: string;
  stdout: string;
  stderr: string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
}

/** What `orbitfed demo` printed for people, read from its output. */
interface DemoLinks {
  readonly dashboardUrl: string;
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly tenant: string;
  /** The printed request's body (`curl … -d '…'`). */
  readonly curlBody: string;
  readonly pids: readonly number[];
  readonly stations: readonly string[];
  readonly satellites: readonly string[];
  readonly validatorUrls: readonly string[];
}

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-dashboard-demo-'));
let demo: RunningDemo | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process is left in the process group `pgid` (the demo and everything it started). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function tail(text: string, chars = OUTPUT_TAIL_CHARS): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}

/** For failure messages: the end of the demo's output and of the scheduler's log. */
function diagnostics(): string {
  if (demo === undefined) return 'the demo was not started';
  let schedulerLog = '(none)';
  try {
    schedulerLog = tail(readFileSync(join(demo.dir, 'logs', 'scheduler.log'), 'utf8'), 2_000);
  } catch {
    // Not written yet.
  }
  return `\n--- demo stdout (end) ---\n${tail(demo.stdout)}\n--- demo stderr (end) ---\n${tail(demo.stderr)}\n--- logs/scheduler.log (end) ---\n${schedulerLog}\n`;
}

function startDemo(dir: string): RunningDemo {
  // Its own process group (as a shell job has), so that Ctrl-C can be sent as a terminal sends it
  // and so that whatever it leaves running can be found.
  const child = spawn(NODE, [
    'bin/orbitfed.ts', 'demo', '--dir', dir, '--port', '0', '--mqtt-port', '0', '--jobs', '0',
    '--time-scale', String(TIME_SCALE), '--duration-sec', '900', '--log-level', 'warn',
  ], { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: RunningDemo = {
    child, dir, stdout: '', stderr: '', exit: undefined,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => {
      running.exit = { code, signal };
      resolve();
    })),
  };
  child.stdout!.on('data', (d: Buffer) => { running.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { running.stderr += d.toString(); });
  return running;
}

/** Resolves once the demo printed that it is ready; rejects if it exits first or takes too long. */
async function waitReady(running: RunningDemo): Promise<void> {
  const deadlineMs = Date.now() + DEMO_READY_TIMEOUT_MS;
  while (!/orbitfed demo: ready/.test(running.stdout)) {
    if (running.exit !== undefined) throw new Error(`the demo exited (${running.exit.code ?? running.exit.signal}) before it was ready${diagnostics()}`);
    if (Date.now() > deadlineMs) throw new Error(`the demo was not ready within ${DEMO_READY_TIMEOUT_MS} ms${diagnostics()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // The summary is one write; the request to paste is its end.
  while (!/Ctrl-C stops the federation/.test(running.stdout)) await new Promise((resolve) => setTimeout(resolve, 50));
}

function printed(label: RegExp, what: string): string {
  const match = demo!.stdout.match(label);
  if (match?.[1] === undefined) throw new Error(`the demo did not print ${what}${diagnostics()}`);
  return match[1];
}

function linksOf(): DemoLinks {
  const list = (label: string): string[] => printed(new RegExp(`^  ${label} +(.+)$`, 'm'), label).split(',').map((s) => s.trim());
  return {
    dashboardUrl: printed(/Dashboard +(http:\/\/127\.0\.0\.1:\d+\/#key=ofk_[A-Za-z0-9_-]+)/, 'the dashboard link'),
    apiUrl: printed(/API +(http:\/\/127\.0\.0\.1:\d+)\/v1$/m, 'the API address'),
    apiKey: printed(/API key +(ofk_[A-Za-z0-9_-]+)/, 'the API key'),
    tenant: printed(/API key +ofk_[A-Za-z0-9_-]+ +\(([a-z0-9-]+)\)/, "the key's tenant"),
    curlBody: printed(/^curl -sS -X POST .* -d '(.*)'$/m, 'the request to paste'),
    pids: [...demo!.stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1])),
    stations: list('Stations'),
    satellites: list('Satellites'),
    validatorUrls: [...demo!.stdout.matchAll(/(http:\/\/127\.0\.0\.1:\d+)\/v1\/status/g)].map((m) => m[1]!),
  };
}

/** Only when a test failed before stopping the demo: its whole process group, at once. */
function killLeftovers(): void {
  const pgid = demo?.child.pid;
  if (pgid !== undefined && groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

describe.skipIf(!haveChromium)('the dashboard in Chromium, against a running demo federation', () => {
  let links: DemoLinks;
  let browser: Browser;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    process.once('exit', killLeftovers);
    for (let attempt = 1; ; attempt += 1) {
      demo = startDemo(join(scratch, `demo-${attempt}`));
      try {
        await waitReady(demo);
        break;
      } catch (error) {
        // The demo picks free ports, then its processes bind them; another program may take one
        // in between (hil/federation-ports.ts). It then stops with the process's log: run it again.
        const lostPortRace = demo.exit !== undefined && /EADDRINUSE/.test(demo.stderr);
        if (!lostPortRace || attempt >= DEMO_START_ATTEMPTS) throw error;
        console.warn(`!!! the demo lost a race for a port (attempt ${attempt} of ${DEMO_START_ATTEMPTS}); starting it again:\n${tail(demo.stderr, 600)}`);
      }
    }
    links = linksOf();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    mkdirSync(OUT, { recursive: true });
  }, DEMO_START_ATTEMPTS * DEMO_READY_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    killLeftovers();
    process.removeListener('exit', killLeftovers);
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  /** A page on the printed link, recording page errors, requests elsewhere and reloads. */
  async function openPage(viewport: { width: number; height: number }): Promise<{ page: Page; navigations: () => number }> {
    const page = await browser.newPage({ viewport });
    const origin = new URL(links.apiUrl).origin;
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) foreignRequests.push(url);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.goto(links.dashboardUrl, { timeout: PAGE_TIMEOUT_MS });
    return { page, navigations: () => navigations };
  }

  /** `read()` until `accept` says yes, failing with what it read last and the demo's state. */
  async function until<T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
    const deadlineMs = Date.now() + timeoutMs;
    let last: T | undefined;
    for (;;) {
      last = await read();
      if (accept(last)) return last;
      if (demo!.exit !== undefined) throw new Error(`${what}: the demo exited (${demo!.exit.code ?? demo!.exit.signal}); last seen ${JSON.stringify(last)}${diagnostics()}`);
      if (Date.now() > deadlineMs) throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(last)}${diagnostics()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it("prints a dashboard link that opens the federation: the demo's 6 stations and 8 satellites on the map", async () => {
    expect(links.stations).toEqual(['svalbard', 'kiruna', 'wallops', 'hartebeesthoek', 'dongara', 'santiago']);
    expect(links.satellites).toHaveLength(8);
    expect(links.pids.length).toBe(20);
    const { page } = await openPage({ width: 1366, height: 800 });
    const count = (selector: string) => () => page.locator(selector).count();
    await until('the stations on the map', count('#map g.stations .station'), (n) => n === 6, PAGE_TIMEOUT_MS);
    await until('the satellites on the map', count('#map g.satellites .satellite'), (n) => n === 8, PAGE_TIMEOUT_MS);
    const drawn = async (layer: string, kind: string): Promise<string[]> => (await page.locator(`#map g.${layer} .${kind}[data-id]`).evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-id') ?? ''))).sort();
    expect(await drawn('stations', 'station')).toEqual([...links.stations].sort());
    expect(await drawn('satellites', 'satellite')).toEqual([...links.satellites].sort());
    // Each at its site from the stations file, not approximated by its country.
    expect(await page.locator('#map .station.approximate').count()).toBe(0);
    expect(await page.locator('#map g.tracks .track').count()).toBe(8);
    expect(await page.locator('#map g.footprints .footprint').count()).toBe(8);
    expect(await page.locator('#map g.countries .country').count()).toBeGreaterThan(170);
    await until('the upcoming contacts', count('#gantt rect.bar'), (n) => n > 10, PAGE_TIMEOUT_MS);
    await until('the live stream', () => page.locator('#live').getAttribute('data-state'), (s) => s === 'live', PAGE_TIMEOUT_MS);
    expect(await page.locator('#tenant').textContent()).toBe(`tenant ${links.tenant}`);
    // The key left the address bar for sessionStorage.
    expect(page.url()).toBe(`${links.apiUrl}/`);
    expect(await page.locator('#map-summary').textContent()).toContain('6 stations · 8 of 8 satellites positioned');
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 3 * PAGE_TIMEOUT_MS);

  it('shows a job submitted with the printed request live, to succeeded and settled, with why it runs where it runs', async () => {
    const { page, navigations } = await openPage({ width: 1366, height: 800 });
    await until('the live stream', () => page.locator('#live').getAttribute('data-state'), (s) => s === 'live', PAGE_TIMEOUT_MS);
    const navigationsBefore = navigations();
    // Every state each job's row shows, in order, as the page draws it (a string: this runs in the
    // page, whose DOM types this project does not compile against).
    await page.evaluate(`(() => {
      const shown = window.shownStates = {};
      const record = () => {
        for (const row of document.querySelectorAll('#jobs tbody tr')) {
          const states = shown[row.dataset.jobId] ??= [];
          if (states.at(-1) !== row.dataset.state) states.push(row.dataset.state);
        }
      };
      new MutationObserver(record).observe(document.querySelector('#jobs tbody'), { childList: true, subtree: true, attributes: true });
    })()`);

    // The request the demo printed, sent as a person pasting it would.
    const response = await fetch(`${links.apiUrl}/v1/jobs`, {
      method: 'POST', headers: { authorization: `Bearer ${links.apiKey}`, 'content-type': 'application/json' }, body: links.curlBody,
    });
    const job = (await response.json()) as { id: string; state: string; placement: { nodeId: string; resultStation: string } };
    expect(response.status, `${JSON.stringify(job)}${diagnostics()}`).toBe(201);
    expect(links.satellites).toContain(job.placement.nodeId);
    // EU-only downlink: Kiruna is the demo's one EU station.
    expect(job.placement.resultStation).toBe('kiruna');

    const row = page.locator(`#jobs tbody tr[data-job-id="${job.id}"]`);
    const rowState = (): Promise<string | null> => row.getAttribute('data-state', { timeout: 1_000 }).catch(() => null);
    await until('the job in the list', rowState, (s) => s !== null, PAGE_TIMEOUT_MS);
    await until(`job ${job.id} ended in the page`, rowState, (s) => s === 'succeeded' || s === 'failed' || s === 'expired' || s === 'cancelled', JOB_DONE_TIMEOUT_MS);
    const shown = await page.evaluate(`window.shownStates[${JSON.stringify(job.id)}]`) as string[];
    expect(await rowState(), `states shown: ${shown.join(' → ')}${diagnostics()}`).toBe('succeeded');
    // It appeared before it ended and moved on from there in the page. Which of the states in
    // between the page shows depends on how fast the job went through them: the scheduler looks
    // for changes once a wall second, two minutes of plan time at 120×, so `placed` may be over by then.
    expect(shown.length, shown.join(' → ')).toBeGreaterThanOrEqual(2);
    expect(['placed', 'dispatched', 'running'], shown.join(' → ')).toContain(shown[0]);
    expect(shown.at(-1), shown.join(' → ')).toBe('succeeded');
    expect(await row.locator('td').nth(2).textContent()).toBe(job.placement.nodeId);

    // The detail: the newest job is selected; its placement explained, its timeline done up to the settlement.
    await until('the job selected', () => page.locator('#detail .detail-head').getAttribute('data-job-id'), (id) => id === job.id, PAGE_TIMEOUT_MS);
    const steps = () => page.locator('#detail ol.timeline li').evaluateAll((items) => items.map((li) => `${li.getAttribute('data-step')}:${li.getAttribute('data-status')}`));
    await until('the settlement in the timeline', steps, (s) => s.join() === 'uplink:done,execution:done,downlink:done,settlement:done', JOB_DONE_TIMEOUT_MS);
    const settlement = await page.locator('#detail li[data-step="settlement"]').textContent();
    expect(settlement).toMatch(new RegExp(`paid [\\d.,]+ EUR \\(fee [\\d.,]+ EUR\\) by receipt ${job.placement.nodeId}#\\d+`));
    const explanation = await page.locator('#detail ul.explanation li').allTextContents();
    expect(explanation.length).toBeGreaterThan(2);
    expect(explanation.join('\n')).toContain(`Chosen ${job.placement.nodeId}`);
    expect(explanation.join('\n')).toContain('reaches kiruna');
    const detail = await page.locator('#detail').textContent();
    expect(detail).toContain('Sovereignty: downlink EU');
    expect(detail).toMatch(/SHA-256[0-9a-f]{64}/);
    expect(detail).toContain(`${job.id}.1: posted`);
    // Its downlink countries (the EU's) are shaded.
    expect(await page.locator('#map .country.region-downlink').count()).toBeGreaterThanOrEqual(20);

    // All of that arrived live: the page never reloaded.
    expect(navigations()).toBe(navigationsBefore);
    await page.screenshot({ path: join(OUT, 'dashboard-demo-laptop.png'), fullPage: true });
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 2 * JOB_DONE_TIMEOUT_MS + 3 * PAGE_TIMEOUT_MS);

  it("shows the validators' heights and health in the ledger, and the paid job", async () => {
    const { page } = await openPage({ width: 1366, height: 800 });
    // Every validator answered (none shown down, no "not all of the ledger answered").
    const ledger = async () => ({
      validators: await page.locator('#ledger tr[data-validator]').evaluateAll((rows) => rows.map((r) => ({
        url: r.getAttribute('data-validator'), height: Number(r.getAttribute('data-height')), health: r.getAttribute('data-health'),
      }))),
      problems: await page.locator('#ledger p.error').allTextContents(),
    });
    const shown = await until('four healthy validators past height 0', ledger,
      (l) => l.validators.length === 4 && l.validators.every((v) => v.health === 'ok' && v.height > 0) && l.problems.length === 0, PAGE_TIMEOUT_MS);
    expect(shown.validators.map((v) => v.url).sort()).toEqual([...links.validatorUrls].sort());
    expect(await page.locator('#ledger-summary').textContent()).toBe('from the validators');
    // The job of the previous test: paid, with the federation's fee.
    expect(await page.locator('#ledger').textContent()).toContain('posted');
    // Its fee reached the federation's fee account, the one the demo's genesis opened (fee:EUR).
    await until('the fee collected', async () => (await page.locator('#ledger').textContent()) ?? '', (text) => /Federation fees collected\s*[\d.,]+ EUR/.test(text), PAGE_TIMEOUT_MS);
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 2 * PAGE_TIMEOUT_MS);

  it('is readable on a phone: one column, nothing wider than the screen', async () => {
    const { page } = await openPage({ width: 390, height: 844 });
    await until('the satellites on the map', () => page.locator('#map g.satellites .satellite').count(), (n) => n === 8, PAGE_TIMEOUT_MS);
    await until('the jobs', () => page.locator('#jobs tbody tr').count(), (n) => n > 0, PAGE_TIMEOUT_MS);
    // (A string: this runs in the page, whose DOM types this project does not compile against.)
    const widths = await page.evaluate('({ page: document.documentElement.scrollWidth, screen: window.innerWidth })') as { page: number; screen: number };
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    const mapBox = (await page.locator('#map-panel').boundingBox())!;
    const jobsBox = (await page.locator('#jobs-panel').boundingBox())!;
    expect(jobsBox.y).toBeGreaterThan(mapBox.y + mapBox.height - 1);
    await page.screenshot({ path: join(OUT, 'dashboard-demo-phone.png'), fullPage: true });
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 2 * PAGE_TIMEOUT_MS);

  it('stops on Ctrl-C: exit status 0, every process it started gone', async () => {
    const running = demo!;
    const pgid = running.child.pid!;
    expect(links.pids.filter(alive)).toEqual(links.pids);
    // A terminal's Ctrl-C: SIGINT to the whole foreground process group.
    process.kill(-pgid, 'SIGINT');
    const stopped = await Promise.race([running.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), DEMO_STOP_TIMEOUT_MS))]);
    expect(stopped, `the demo did not exit within ${DEMO_STOP_TIMEOUT_MS} ms of SIGINT${diagnostics()}`).toBe(true);
    expect(running.exit, diagnostics()).toEqual({ code: 0, signal: null });
    expect(running.stdout).toMatch(/orbitfed demo: stopped; everything it wrote is in /);
    expect(links.pids.filter(alive)).toEqual([]);
    // Nothing else it started either (job processes of the agents included): the group is empty.
    await until('the process group empty', async () => groupAlive(pgid), (any) => !any, 10_000);
  }, DEMO_STOP_TIMEOUT_MS + 30_000);
});
