// The jobs list (the tenant's newest jobs, kept up to date by `job` events) and the detail of the
// selected job: where and why it was placed, its timeline uplink → execution → downlink →
// settlement, its result and its events.
import { el, replaceChildren } from './dom-builder.js';
import { bytesText, clockText, dateTimeText, moneyText, relativeText, shortId } from './units-format.js';

/** Jobs the list keeps at most (the newest). */
const JOBS_SHOWN_MAX = 50;

const FINISHED = new Set(['succeeded', 'failed', 'expired', 'cancelled']);

/** When the result came (finished jobs: when they finished) or is due. */
function resultCell(job, nowMs) {
  if (FINISHED.has(job.state)) return el('span', { title: dateTimeText(job.updatedMs) }, `${job.state} ${relativeText(job.updatedMs, nowMs)}`);
  if (job.placement === undefined) return '—';
  return el('span', { title: dateTimeText(job.placement.resultArrivalMs) }, `due ${relativeText(job.placement.resultArrivalMs, nowMs)}`);
}

function stateBadge(state) {
  return el('span', { class: ['state', `state-${state}`] }, state);
}

export class JobsPanel {
  #body;
  #empty;
  #summary;
  #onSelect;
  #jobs = new Map();
  #selected;

  constructor(body, empty, summary, onSelect) {
    this.#body = body;
    this.#empty = empty;
    this.#summary = summary;
    this.#onSelect = onSelect;
  }

  get selected() {
    return this.#selected;
  }

  /** Replaces the list (GET v1/jobs). */
  setJobs(jobs, nowMs) {
    this.#jobs = new Map(jobs.map((job) => [job.id, job]));
    this.render(nowMs);
  }

  /** A job appeared or changed (a `job` event). */
  upsert(job, nowMs) {
    this.#jobs.set(job.id, job);
    this.render(nowMs);
  }

  select(id) {
    this.#selected = id;
    for (const row of this.#body.querySelectorAll('tr')) row.classList.toggle('selected', row.dataset.jobId === id);
    this.#onSelect(id);
  }

  render(nowMs) {
    const jobs = [...this.#jobs.values()].sort((a, b) => b.createdMs - a.createdMs || (a.id < b.id ? -1 : 1)).slice(0, JOBS_SHOWN_MAX);
    this.#jobs = new Map(jobs.map((job) => [job.id, job]));
    const counts = new Map();
    for (const job of jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
    this.#summary.textContent = [...counts].map(([state, n]) => `${n} ${state}`).join(' · ');
    this.#empty.hidden = jobs.length > 0;
    replaceChildren(this.#body, jobs.map((job) => el('tr', {
      class: job.id === this.#selected && 'selected', dataset: { jobId: job.id, state: job.state }, tabindex: 0,
      onclick: () => this.select(job.id),
      onkeydown: (event) => { if (event.key === 'Enter') this.select(job.id); },
    },
    el('td', {}, job.name ?? 'job', el('span', { class: 'job-id' }, shortId(job.id))),
    el('td', { class: 'state-cell' }, stateBadge(job.state)),
    el('td', {}, job.placement?.nodeId ?? '—'),
    el('td', {}, resultCell(job, nowMs)))));
  }
}

function factsList(pairs) {
  return el('dl', { class: 'facts-list' }, pairs.filter(([, value]) => value !== undefined && value !== null && value !== '').flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function timelineItem(step, nowMs) {
  const planned = step.plannedEndMs === undefined ? undefined
    : step.plannedStartMs === undefined || step.plannedStartMs === step.plannedEndMs ? `planned ${dateTimeText(step.plannedEndMs)}`
      : `planned ${dateTimeText(step.plannedStartMs)} – ${clockText(step.plannedEndMs)}`;
  return el('li', { class: ['step', `step-${step.status}`], dataset: { step: step.step, status: step.status } },
    el('strong', {}, step.step),
    el('span', {}, step.money ? `settlement of ${moneyText(step.money.priceMinor, step.money.currency)}` : step.label),
    el('span', { class: 'when' }, step.status),
    planned ? el('span', { class: 'when' }, planned) : undefined,
    step.doneMs !== undefined ? el('span', { class: 'when' }, `done ${dateTimeText(step.doneMs)} (${relativeText(step.doneMs, nowMs)})`) : undefined,
    step.note ? el('span', { class: 'when' }, step.money ? settlementNote(step.money) : step.note) : undefined);
}

/** "paid 0.08 EUR (fee 0.01 EUR) by receipt sat-a#3": the ledger's minor units written as amounts. */
function settlementNote(money) {
  const by = money.settledBy === undefined ? '' : ` by receipt ${money.settledBy}`;
  return `paid ${moneyText(money.paidMinor, money.currency)} (fee ${moneyText(money.feeMinor, money.currency)})${by}`;
}

/** The result bytes: a download button while they are kept, else why not. */
function contentLine(job, content, download) {
  if (content === undefined || content.status === 'none') return undefined;
  if (content.status === 'dropped') return el('p', { class: 'muted' }, `Result bytes no longer kept (${content.dropReason}, ${dateTimeText(content.droppedMs)}).`);
  if (download === undefined) return undefined;
  return el('p', {}, el('button', { type: 'button', class: 'download', onclick: () => download(content.url.replace(/^\//, ''), `${job.id}.result`) },
    `Download result (${bytesText(content.sizeBytes)})`));
}

/** Renders GET v1/dashboard/jobs/{id}'s answer into `container`; `download(path, fileName)` saves a result. */
export function renderJobDetail(container, detail, nowMs, download) {
  const { job } = detail;
  const p = job.placement;
  const result = detail.result;
  const rejected = detail.rejected ?? [];
  replaceChildren(container,
    el('div', { class: 'detail-head', dataset: { jobId: job.id } },
      el('h3', {}, job.name ?? 'job'), stateBadge(job.state), el('span', { class: 'muted' }, job.id)),
    job.reason ? el('p', { class: 'muted' }, job.reason) : undefined,
    factsList([
      ['node', p?.nodeId],
      ['result to', p?.resultStation],
      ['price', p ? moneyText(p.priceMinor.amount, p.priceMinor.currency) : undefined],
      ['deadline', `${dateTimeText(job.deadlineMs)} (${relativeText(job.deadlineMs, nowMs)})`],
      ['input', `${bytesText(job.spec.input.sizeBytes)} at ${job.spec.input.location}`],
      ['attempt', job.attempt > 1 ? `${job.attempt} (re-planned)` : undefined],
    ]),
    el('h3', {}, 'Timeline'),
    el('ol', { class: 'timeline' }, detail.timeline.map((step) => timelineItem(step, nowMs))),
    el('h3', {}, 'Why here'),
    detail.explanation.length > 0 ? el('ul', { class: 'explanation' }, detail.explanation.map((line) => el('li', {}, line)))
      : rejected.length > 0 ? el('ul', { class: 'explanation' }, rejected.map((r) => el('li', {}, `${r.nodes} node(s) refused: ${r.reason}${r.detail ? ` — ${r.detail}` : ''}`)))
        : el('p', { class: 'muted' }, 'No explanation recorded.'),
    detail.earliestFeasibleMs !== undefined ? el('p', { class: 'muted' }, `Earliest feasible result: ${dateTimeText(detail.earliestFeasibleMs)}`) : undefined,
    detail.regions.length > 0 ? el('p', { class: 'muted' }, 'Sovereignty: ', detail.regions.map((r) => `${r.rule} ${[...r.codes, ...(r.stations ?? [])].join(', ')}`).join('; '),
      ' (shaded on the map)') : undefined,
    el('h3', {}, 'Result'),
    result ? factsList([
      ['outcome', result.outcome],
      ['exit code', result.exitCode],
      ['message', result.message],
      ['size', result.resultSizeBytes === undefined ? undefined : bytesText(result.resultSizeBytes)],
      ['delivered', result.deliveredAtMs === undefined ? undefined : `${dateTimeText(result.deliveredAtMs)} at ${result.station ?? '?'}`],
      ['SHA-256', result.resultSha256],
    ]) : undefined,
    result ? contentLine(job, detail.content, download) : el('p', { class: 'muted' }, p ? `Expected at ${p.resultStation} ${relativeText(p.resultArrivalMs, nowMs)} (${dateTimeText(p.resultArrivalMs)}).` : 'Not placed yet.'),
    detail.escrow ? factsList([['escrow', `${detail.escrow.escrowId}: ${detail.escrow.status}`]]) : undefined,
    detail.ledgerProblem ? el('p', { class: 'error' }, `Ledger: ${detail.ledgerProblem}`) : undefined,
    el('h3', {}, 'Events'),
    el('ul', { class: 'events' }, detail.events.slice().reverse().map((e) => el('li', {},
      el('time', {}, dateTimeText(e.atMs)), e.type, e.fromState && e.toState ? ` (${e.fromState} → ${e.toState})` : e.toState ? ` (→ ${e.toState})` : ''))));
}
