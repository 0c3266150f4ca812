/* global document, window, sessionStorage, history, location, fetch, setTimeout, clearTimeout, AbortController, URL, URLSearchParams, performance */
// The dashboard page: signs in with the tenant's API key (kept in sessionStorage for this tab),
// loads the map, the contacts, the jobs and the ledger, then follows the live event stream. The
// scheduler's clock (from the stream's ticks) is the page's "now", so a demo federation running
// on a faster clock shows its own time.
import { ApiClient, ApiError } from './api-client.js';
import { ContactGantt } from './contact-gantt.js';
import { el } from './dom-builder.js';
import { JobsPanel, renderJobDetail } from './jobs-panel.js';
import { renderLedger } from './ledger-panel.js';
import { clockText } from './units-format.js';
import { WorldMap } from './world-map.js';

const KEY_STORAGE = 'orbitfed.apiKey';
/**
 * How often the map (satellites move), the contacts and the ledger are read again, ms of this
 * browser; faster when the scheduler's clock runs faster than the wall (the demo's time scale).
 */
const MAP_REFRESH_MS = 5_000;
const MAP_REFRESH_FAST_MS = 1_000;
const GANTT_REFRESH_MS = 60_000;
const GANTT_REFRESH_FAST_MS = 10_000;
const LEDGER_REFRESH_MS = 15_000;
const LEDGER_REFRESH_FAST_MS = 5_000;
/** Above this many clock seconds per wall second the page counts the clock as fast. */
const FAST_CLOCK_RATE = 2;
/** Reconnecting the event stream: first after 1 s, doubling to at most 30 s. */
const RECONNECT_MS_MIN = 1_000;
const RECONNECT_MS_MAX = 30_000;
const JOBS_LISTED = 50;
/** Job states after which only the ledger still changes what the detail shows (its settlement). */
const ENDED_STATES = new Set(['succeeded', 'failed', 'expired', 'cancelled']);

const $ = (selector) => document.querySelector(selector);

/** A key given in the fragment (#key=…) moves to sessionStorage and out of the address bar. */
function takeKey() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('key');
  if (given) {
    sessionStorage.setItem(KEY_STORAGE, given);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
}

function showSignIn(message) {
  $('#dashboard').hidden = true;
  $('#sign-in').hidden = false;
  const error = $('#sign-in-error');
  error.hidden = message === undefined;
  error.textContent = message ?? '';
  $('#api-key').focus();
}

function setLive(state, text) {
  const live = $('#live');
  live.dataset.state = state;
  live.textContent = text;
}

class Dashboard {
  #api;
  #map;
  #gantt;
  #jobs;
  #nowMs;
  #detailRequest = 0;
  /**
   * The selected job has ended but its settlement is not resolved yet: no job event will come when
   * the validators settle it, so the detail is read again with the ledger.
   */
  #detailSettling = false;
  #ledgerTimer;
  /** The scheduler's clock seconds per wall second, from successive ticks. */
  #rate = 1;
  #lastTick;

  constructor(api, topology) {
    this.#api = api;
    this.#map = new WorldMap($('#map'), topology);
    this.#gantt = new ContactGantt($('#gantt'));
    this.#jobs = new JobsPanel($('#jobs tbody'), $('#jobs-empty'), $('#jobs-summary'), (id) => this.#showJob(id));
  }

  async start() {
    await Promise.all([this.refreshMap(), this.refreshGantt(), this.refreshJobs(), this.refreshLedger()]);
    this.#every(() => (this.#rate > FAST_CLOCK_RATE ? MAP_REFRESH_FAST_MS : MAP_REFRESH_MS), () => this.refreshMap());
    this.#every(() => (this.#rate > FAST_CLOCK_RATE ? GANTT_REFRESH_FAST_MS : GANTT_REFRESH_MS), () => this.refreshGantt());
    this.#every(() => (this.#rate > FAST_CLOCK_RATE ? LEDGER_REFRESH_FAST_MS : LEDGER_REFRESH_MS), () => this.refreshLedger());
    this.#follow();
  }

  /** Runs `work` again and again, `delayMs()` after each run ends. */
  #every(delayMs, work) {
    const again = () => setTimeout(async () => {
      await work();
      again();
    }, delayMs());
    again();
  }

  #setNow(nowMs, planHash) {
    this.#nowMs = nowMs;
    $('#clock').textContent = `${clockText(nowMs)} UTC`;
    if (planHash !== undefined) $('#plan').textContent = `plan ${planHash.slice(0, 8)}`;
    this.#gantt.setNow(nowMs);
  }

  async #guard(what, work) {
    try {
      await work();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        location.reload();
        return;
      }
      console.warn(`dashboard: ${what} failed`, error);
    }
  }

  refreshMap() {
    return this.#guard('the map', async () => {
      const map = await this.#api.get('v1/dashboard/map');
      this.#setNow(map.nowMs, map.planHash);
      const counts = this.#map.update(map);
      $('#map-summary').textContent = `${counts.stations} stations · ${counts.placed} of ${counts.satellites} satellites positioned · ${map.links.length} contacts open now`;
    });
  }

  refreshGantt() {
    return this.#guard('the contacts', async () => {
      const gantt = await this.#api.get('v1/dashboard/gantt');
      this.#gantt.update(gantt);
      $('#gantt-summary').textContent = `${gantt.bars.length} contact windows in the next ${Math.round((gantt.toMs - gantt.nowMs) / 3_600_000)} h${gantt.truncated ? ' (more not shown)' : ''}`;
    });
  }

  refreshJobs() {
    return this.#guard('the jobs', async () => {
      try {
        const { jobs } = await this.#api.get(`v1/jobs?limit=${JOBS_LISTED}`);
        this.#jobs.setJobs(jobs, this.#nowMs);
        if (this.#jobs.selected === undefined && jobs.length > 0) this.#jobs.select(jobs[0].id);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 403) throw error;
        $('#jobs-summary').textContent = 'this key has no jobs role';
      }
    });
  }

  refreshLedger() {
    return this.#guard('the ledger', async () => {
      renderLedger($('#ledger'), $('#ledger-summary'), await this.#api.get('v1/dashboard/ledger'), this.#nowMs);
      if (this.#detailSettling && this.#jobs.selected !== undefined) await this.#showJob(this.#jobs.selected);
    });
  }

  /** Reads the ledger again soon (several job events in a row make one read). */
  #ledgerSoon() {
    clearTimeout(this.#ledgerTimer);
    this.#ledgerTimer = setTimeout(() => this.refreshLedger(), 500);
  }

  /** Saves a result download as a file (the API needs the key, so a plain link cannot fetch it). */
  #download(path, fileName) {
    return this.#guard('the download', async () => {
      const url = URL.createObjectURL(await this.#api.blob(path));
      const link = el('a', { href: url, download: fileName });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
  }

  #showJob(id) {
    const request = ++this.#detailRequest;
    return this.#guard('the job', async () => {
      const detail = await this.#api.get(`v1/dashboard/jobs/${encodeURIComponent(id)}`);
      if (request !== this.#detailRequest) return;
      const settlement = detail.timeline.find((step) => step.step === 'settlement');
      this.#detailSettling = ENDED_STATES.has(detail.job.state) && (settlement?.status === 'active' || settlement?.status === 'planned');
      renderJobDetail($('#detail'), detail, this.#nowMs, (path, fileName) => this.#download(path, fileName));
      this.#map.setJob(detail.regions, detail.job.placement?.nodeId);
      this.#gantt.setJobContacts(detail.bookedContacts);
    });
  }

  #onEvent({ event, data }) {
    switch (event) {
      case 'hello':
        this.#setNow(data.nowMs, data.planHash);
        $('#tenant').textContent = `tenant ${data.tenantId}`;
        $('#tenant').hidden = false;
        setLive('live', 'live');
        // Whatever happened while the stream was down: read it all again.
        void this.refreshJobs();
        void this.refreshMap();
        break;
      case 'tick': {
        const wallMs = performance.now();
        if (this.#lastTick !== undefined && wallMs > this.#lastTick.wallMs) {
          this.#rate = 0.8 * this.#rate + 0.2 * ((data.nowMs - this.#lastTick.nowMs) / (wallMs - this.#lastTick.wallMs));
        }
        this.#lastTick = { nowMs: data.nowMs, wallMs };
        this.#setNow(data.nowMs, data.planHash);
        break;
      }
      case 'job':
        this.#jobs.upsert(data, this.#nowMs);
        if (this.#jobs.selected === data.id || this.#jobs.selected === undefined) this.#jobs.select(data.id);
        this.#ledgerSoon();
        break;
      case 'links': {
        const drawn = this.#map.updateLinks(data.links);
        $('#map-summary').dataset.links = String(drawn);
        break;
      }
      case 'plan':
        void this.refreshGantt();
        void this.refreshMap();
        break;
      default:
        break;
    }
  }

  async #follow() {
    let waitMs = RECONNECT_MS_MIN;
    for (;;) {
      setLive('connecting', 'connecting…');
      const controller = new AbortController();
      try {
        await this.#api.events((event) => {
          waitMs = RECONNECT_MS_MIN;
          this.#onEvent(event);
        }, controller.signal);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          sessionStorage.removeItem(KEY_STORAGE);
          location.reload();
          return;
        }
      }
      setLive('off', 'reconnecting');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs = Math.min(waitMs * 2, RECONNECT_MS_MAX);
    }
  }
}

async function open(key) {
  const api = new ApiClient(key);
  let tenantCheck;
  try {
    tenantCheck = await api.get('v1/dashboard/ledger');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      showSignIn('That key was not accepted. Check it and try again.');
      return;
    }
    showSignIn(`The scheduler did not answer: ${error.message}`);
    return;
  }
  const topology = await (await fetch('dashboard/assets/countries-110m.json')).json();
  $('#sign-in').hidden = true;
  $('#dashboard').hidden = false;
  $('#sign-out').hidden = false;
  const dashboard = new Dashboard(api, topology);
  renderLedger($('#ledger'), $('#ledger-summary'), tenantCheck, undefined);
  await dashboard.start();
}

$('#sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('#api-key').value.trim();
  if (key === '') return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('#api-key').value = '';
  void open(key);
});

$('#sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  window.location.reload();
});

const key = takeKey();
if (key === undefined) showSignIn();
else void open(key);
