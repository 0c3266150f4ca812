// The dashboard end to end, in a real browser (issue 10): Debian's Chromium driven by
// playwright-core against a scheduler wired exactly as `orbitfed scheduler --config FILE` wires it
// (SchedulerService on the real clock), with a contact plan built by `orbitfed plan` from the
// bundled samples for the next 24 hours. The page opens with the tenant's key in the fragment,
// draws the map, and follows a job submitted over HTTP through its states, live, to `succeeded`.
// No agents run here: the test moves the job the way the dispatcher does (dispatched, started,
// finished through the lifecycle), which is what the page sees either way. Screenshots (laptop and
// phone) are written to test/out/ (git-ignored) as artifacts.
//
// Skipped, loudly, only when /usr/bin/chromium is missing (`.ci/run` installs it).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, silentLogger } from '../../common/index.ts';
import { createSchedulerService, loadSchedulerConfig, newApiKey, type SchedulerService } from '../../scheduler/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { scratchDirectory } from '../scheduler/job-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPING the dashboard's browser test: ${CHROMIUM} is missing. Install it: apt-get install -y chromium\n${'!'.repeat(100)}\n`);
}

const samples = (file: string): string => fileURLToPath(new URL(`../../samples/${file}`, import.meta.url));
const OUT = fileURLToPath(new URL('../out/', import.meta.url));
const HOUR_MS = 3_600_000;

describe.skipIf(!haveChromium)('the dashboard in Chromium', () => {
  const scratch = scratchDirectory('dashboard-e2e');
  const key = newApiKey();
  let service: SchedulerService;
  let address: string;
  let browser: Browser;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const planPath = join(scratch.path, 'plan.json');
    const plan = await runCli(['plan', '--elements', samples('elements.tle'), '--stations', samples('stations.yaml'), '--ground-mesh', '125000000', '--allow-stale', '--hours', '24', '--out', planPath]);
    expect(plan.code, plan.stderr).toBe(0);
    const configPath = join(scratch.path, 'scheduler.yaml');
    writeFileSync(configPath, `listen: { host: 127.0.0.1, port: 0 }
storePath: data/jobs.db
plan: { path: plan.json }
elementsPath: ${JSON.stringify(samples('elements.tle'))}
nodesFile: ${JSON.stringify(samples('scheduler-nodes.yaml'))}
ledger:
  chainId: orbitfed-e2e
  genesis: [{ tenant: acme-earth, currency: EUR, amountMinor: "10000000" }]
tenants:
  - { id: acme-earth, roles: [jobs], apiKeyEnv: ORBITFED_E2E_TENANT_KEY }
lifecycle: { tickMs: 1000 }
dashboard:
  stationsPath: ${JSON.stringify(samples('stations.yaml'))}
log: { level: silent }
`);
    const config = await loadSchedulerConfig(configPath, { ORBITFED_E2E_TENANT_KEY: key });
    service = await createSchedulerService({ config, clock: new RealClock(), logger: silentLogger() });
    address = await service.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    mkdirSync(OUT, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    scratch.remove();
  });

  async function openPage(viewport: { width: number; height: number }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('request', (request) => {
      if (!request.url().startsWith(address) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${address}/#key=${key}`);
    return page;
  }

  async function submitJob(): Promise<{ id: string; placement: { nodeId: string; resultStation: string } }> {
    const response = await fetch(`${address}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'ndvi-tile-42', command: ['ndvi', '--tile', '42'], resources: { cpu: 1, memoryBytes: 512 * 1024 * 1024 }, executionMs: 120_000,
        input: { sizeBytes: 2_000_000, location: 'svalbard' }, result: { sizeBytes: 200_000, deliverTo: [] }, orbital: 'required',
        sovereignty: { downlink: { countries: ['NO', 'SE'] } }, deadlineMs: Date.now() + 20 * HOUR_MS, maxPriceMinor: { currency: 'EUR', amount: 100_000 },
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; placement: { nodeId: string; resultStation: string } };
  }

  const rowState = (page: Page, jobId: string) => page.locator(`#jobs tbody tr[data-job-id="${jobId}"]`);

  it('draws the federation, shows a submitted job live as it moves to succeeded, and explains it', async () => {
    const page = await openPage({ width: 1440, height: 1000 });
    // The map: six stations (their sites, from the stations file) and the fourteen satellites of the plan.
    await expect.poll(() => page.locator('#map g.stations .station').count(), { timeout: 30_000 }).toBe(6);
    await expect.poll(() => page.locator('#map g.satellites .satellite').count(), { timeout: 30_000 }).toBe(14);
    expect(await page.locator('#map g.countries .country').count()).toBeGreaterThan(170);
    expect(await page.locator('#map g.tracks .track').count()).toBe(14);
    expect(await page.locator('#map g.footprints .footprint').count()).toBe(14);
    expect(await page.locator('#map .station.approximate').count()).toBe(0);
    await expect.poll(() => page.locator('#gantt rect.bar').count(), { timeout: 30_000 }).toBeGreaterThan(10);
    await expect.poll(() => page.locator('#live').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    expect(await page.locator('#tenant').textContent()).toBe('tenant acme-earth');
    // The key left the address bar for sessionStorage.
    expect(page.url()).toBe(`${address}/`);

    const job = await submitJob();
    const row = rowState(page, job.id);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('placed');
    await expect.poll(() => page.locator('#detail .detail-head').getAttribute('data-job-id'), { timeout: 15_000 }).toBe(job.id);
    expect(await page.locator('#detail ol.timeline li').count()).toBe(4);
    expect(await page.locator('#detail ul.explanation li').count()).toBeGreaterThan(0);
    // Its downlink countries (Norway, Sweden) are shaded; its satellite is marked; its contacts are highlighted.
    await expect.poll(() => page.locator('#map .country.region-downlink').count()).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator(`#map .assigned[data-id="${job.placement.nodeId}"]`).count()).toBe(1);
    await expect.poll(() => page.locator('#gantt rect.bar.job').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#ledger [data-currency="EUR"]').count()).toBeGreaterThan(0);

    // The dispatcher's calls, as the node's reports would make them.
    service.lifecycle.dispatched(job.id);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('dispatched');
    service.lifecycle.started(job.id, job.placement.nodeId);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('running');
    service.lifecycle.finished(job.id, job.placement.nodeId, {
      outcome: 'succeeded', exitCode: 0, station: job.placement.resultStation, deliveredAtMs: Date.now(), resultSizeBytes: 180_000, resultSha256: 'ab'.repeat(32),
    });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('succeeded');
    const statuses = async () => Promise.all((await page.locator('#detail ol.timeline li').all()).map((li) => li.getAttribute('data-status')));
    await expect.poll(statuses, { timeout: 15_000 }).toEqual(['done', 'done', 'done', 'active']);
    expect(await page.locator('#detail').textContent()).toContain('ab'.repeat(32));
    await page.screenshot({ path: join(OUT, 'dashboard-laptop.png'), fullPage: true });

    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('is readable on a phone: one column, nothing wider than the screen', async () => {
    const page = await openPage({ width: 390, height: 844 });
    await expect.poll(() => page.locator('#map g.satellites .satellite').count(), { timeout: 30_000 }).toBe(14);
    await expect.poll(() => page.locator('#jobs tbody tr').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    // (A string: this runs in the page, whose DOM types this project does not compile against.)
    const widths = await page.evaluate('({ page: document.documentElement.scrollWidth, screen: window.innerWidth })') as { page: number; screen: number };
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    const mapBox = (await page.locator('#map-panel').boundingBox())!;
    const jobsBox = (await page.locator('#jobs-panel').boundingBox())!;
    expect(jobsBox.y).toBeGreaterThan(mapBox.y + mapBox.height - 1);
    await page.screenshot({ path: join(OUT, 'dashboard-phone.png'), fullPage: true });
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('asks for a key when it has none, and refuses a wrong one', async () => {
    const page = await browser.newPage();
    await page.goto(`${address}/`);
    await expect.poll(() => page.locator('#sign-in').isVisible()).toBe(true);
    expect(await page.locator('#dashboard').isVisible()).toBe(false);
    await page.fill('#api-key', newApiKey());
    await page.click('#sign-in form button[type=submit]');
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toContain('not accepted');
    await page.fill('#api-key', key);
    await page.click('#sign-in form button[type=submit]');
    await expect.poll(() => page.locator('#map g.stations .station').count(), { timeout: 30_000 }).toBe(6);
    await page.close();
  });
});
