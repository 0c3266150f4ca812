// A scenario's report: JSON for machines (the run's record without the bulky inputs, and the
// checks), and one self-contained HTML page for people — the verdict, the checks, and a timeline
// drawn as inline SVG (no script, no CDN): each station's passes (with the link outages of flaps,
// drops and `flap` faults under them), each job's states from submission to its end, the faults and
// the process exits, on the plan time axis.
import { writeFileSync } from 'node:fs';
import type { CheckResult } from './scenario-checks.ts';
import type { ScenarioRecord } from './scenario-runner.ts';

export interface ScenarioReport {
  readonly scenario: string;
  readonly ok: boolean;
  readonly dir: string;
  readonly timeBase: ScenarioRecord['timeBase'];
  readonly planStartMs: number;
  readonly endMs: number;
  readonly planHash: string;
  readonly checks: readonly CheckResult[];
  readonly submissions: ScenarioRecord['submissions'];
  readonly faults: ScenarioRecord['faults'];
  readonly exits: ScenarioRecord['exits'];
  readonly ledger: ScenarioRecord['ledger'];
  readonly nodes: ScenarioRecord['nodes'];
  readonly links: ScenarioRecord['links'];
}

export function scenarioReport(record: ScenarioRecord, checks: readonly CheckResult[]): ScenarioReport {
  return {
    scenario: record.scenario.file.name, ok: checks.every((c) => c.ok), dir: record.dir, timeBase: record.timeBase,
    planStartMs: record.planStartMs, endMs: record.endMs, planHash: record.planHash, checks,
    submissions: record.submissions, faults: record.faults, exits: record.exits, ledger: record.ledger, nodes: record.nodes,
    links: record.links,
  };
}

/** JSON text: bigints as decimal strings. */
export function reportJson(report: ScenarioReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const STATE_COLOURS: Readonly<Record<string, string>> = {
  submitted: '#9aa5b1', placed: '#5b8def', dispatched: '#7b61ff', running: '#f0a202',
  succeeded: '#2e9e5b', failed: '#d64545', expired: '#b5651d', cancelled: '#6b6b6b',
};

interface Row { readonly label: string; readonly svg: string }

const OUTAGE_COLOUR = '#d64545';

/** Room above the rows for the fault labels. */
const TOP_PX = 44;

/** The timeline: passes per station, states per job, faults and exits; x is plan time. */
export function timelineSvg(record: ScenarioRecord, widthPx = 1100): string {
  const labelPx = 190;
  const rowPx = 18;
  // From the scenario's second 0 (every process serving): the start-up before it is not the scenario.
  const startMs = record.runningMs;
  const endMs = Math.max(record.endMs, startMs + 1);
  const x = (ms: number): number => labelPx + ((Math.min(Math.max(ms, startMs), endMs) - startMs) / (endMs - startMs)) * (widthPx - labelPx - 10);
  const rows: Row[] = [];
  const stations = record.nodes.filter((n) => n.kind === 'ground');
  const outages = record.links?.outages ?? [];
  const outageBar = (o: (typeof outages)[number]): string => `<rect x="${x(o.startMs).toFixed(1)}" y="11" width="${Math.max(1.5, x(o.endMs) - x(o.startMs)).toFixed(1)}" height="5" fill="${OUTAGE_COLOUR}">`
    + `<title>${escapeHtml(`${o.cause === 'fault' ? 'flap fault' : o.cause} ${o.link}: down ${iso(o.startMs)} – ${iso(o.endMs)}`)}</title></rect>`;
  for (const station of stations) {
    const bars = record.contacts.filter((c) => c.to === station.id && c.endMs > startMs && c.startMs < endMs)
      .map((c) => `<rect x="${x(c.startMs).toFixed(1)}" width="${Math.max(1, x(c.endMs) - x(c.startMs)).toFixed(1)}" height="10" fill="#4aa3c7"><title>${escapeHtml(`${c.from} → ${station.id}: ${iso(c.startMs)} – ${iso(c.endMs)}`)}</title></rect>`);
    // Under the passes: outages of this station's links (either direction), and those of every link.
    const touches = (link: string): boolean => link === 'all' || link.split('→').includes(String(station.ipn));
    rows.push({ label: `passes at ${station.id}`, svg: bars.join('') + outages.filter((o) => touches(o.link)).map(outageBar).join('') });
  }
  for (const s of record.submissions) {
    const states: { atMs: number; state: string }[] = [{ atMs: s.submittedMs, state: s.status === 201 ? 'submitted' : 'failed' }];
    for (const event of s.events) {
      if (typeof event.toState !== 'string' || typeof event.atMs !== 'number') continue;
      if (event.toState === states.at(-1)!.state) continue;
      states.push({ atMs: event.atMs, state: event.toState });
    }
    const final = states.at(-1)!.state;
    const segments = states.map((st, i) => {
      const until = i + 1 < states.length ? states[i + 1]!.atMs : (['succeeded', 'failed', 'expired', 'cancelled'].includes(st.state) ? st.atMs + (endMs - startMs) / 200 : endMs);
      return `<rect x="${x(st.atMs).toFixed(1)}" width="${Math.max(2, x(until) - x(st.atMs)).toFixed(1)}" height="10" fill="${STATE_COLOURS[st.state] ?? '#999'}"><title>${escapeHtml(`${st.state} at ${iso(st.atMs)}`)}</title></rect>`;
    });
    const text = s.status === 201 ? `${s.name}: ${final}` : `${s.name}: refused ${s.problem?.code ?? ''}`;
    rows.push({ label: text, svg: segments.join('') });
  }
  const heightPx = TOP_PX + rows.length * rowPx + 20;
  const marks = [
    ...record.faults.map((f) => ({ atMs: f.appliedMs, colour: '#d64545', text: `${f.fault.kind} ${'process' in f.fault ? f.fault.process : `${f.fault.from}→${f.fault.to}`}` })),
    ...record.exits.filter((e) => !e.expected).map((e) => ({ atMs: e.atMs, colour: '#000', text: `${e.name} died` })),
  ].map((m, i) => `<line x1="${x(m.atMs).toFixed(1)}" x2="${x(m.atMs).toFixed(1)}" y1="${TOP_PX - 8}" y2="${heightPx - 14}" stroke="${m.colour}" stroke-dasharray="4 3"><title>${escapeHtml(`${m.text} at ${iso(m.atMs)}`)}</title></line>`
    // Labels on three staggered lines, so that faults close together stay readable.
    + `<text x="${(x(m.atMs) + 3).toFixed(1)}" y="${10 + (i % 3) * 11}" font-size="10" fill="${m.colour}">${escapeHtml(m.text)}</text>`);
  const ticks: string[] = [];
  const stepMs = niceStepMs((endMs - startMs) / 8);
  for (let t = Math.ceil(startMs / stepMs) * stepMs; t <= endMs; t += stepMs) {
    ticks.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${heightPx - 16}" y2="${heightPx - 12}" stroke="#888"/><text x="${x(t).toFixed(1)}" y="${heightPx - 2}" font-size="10" text-anchor="middle" fill="#555">${iso(t).slice(11, 16)}</text>`);
  }
  const body = rows.map((row, i) => {
    const y = TOP_PX + i * rowPx;
    return `<text x="${labelPx - 6}" y="${y + 9}" font-size="11" text-anchor="end">${escapeHtml(row.label.length > 30 ? `${row.label.slice(0, 29)}…` : row.label)}</text><g transform="translate(0 ${y})">${row.svg}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="sans-serif" role="img" aria-label="timeline">`
    + `${body.join('')}${marks.join('')}${ticks.join('')}</svg>`;
}

function niceStepMs(roughMs: number): number {
  const steps = [60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000];
  return steps.find((s) => s >= roughMs) ?? 86_400_000;
}

export function reportHtml(report: ScenarioReport, record: ScenarioRecord): string {
  const checks = report.checks.map((c) => `<tr><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'}</td><td>${escapeHtml(c.title)}</td><td>${c.details.map(escapeHtml).join('<br>')}</td></tr>`).join('');
  const jobs = report.submissions.map((s) => {
    const job = s.finalJob as { state?: string; reason?: string; placement?: { nodeId?: string; resultStation?: string } } | undefined;
    return `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.tenant)}</td><td>${iso(s.submittedMs)}</td><td>${s.status}</td><td>${escapeHtml(job?.state ?? s.problem?.code ?? '')}</td>`
      + `<td>${escapeHtml(job?.placement?.nodeId ?? '')}</td><td>${escapeHtml(job?.placement?.resultStation ?? '')}</td><td>${escapeHtml(job?.reason ?? s.problem?.detail ?? '')}</td></tr>`;
  }).join('');
  const legend = Object.entries(STATE_COLOURS).map(([state, colour]) => `<span><i style="background:${colour}"></i>${state}</span>`).join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>orbitfed scenario ${escapeHtml(report.scenario)}: ${report.ok ? 'passed' : 'FAILED'}</title>
<style>
body{font-family:sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;font-size:.85rem;vertical-align:top;text-align:left}.ok{color:#2e9e5b}.bad{color:#d64545;font-weight:bold}
.legend span{margin-right:1rem;font-size:.8rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.scroll{overflow-x:auto}
</style></head><body>
<h1>Scenario <code>${escapeHtml(report.scenario)}</code>: <span class="${report.ok ? 'ok' : 'bad'}">${report.ok ? 'every invariant held' : 'invariants broken'}</span></h1>
<p>Plan time ${iso(report.planStartMs)} – ${iso(report.endMs)} at ${report.timeBase.timeScale}× · plan ${escapeHtml(report.planHash.slice(0, 12))} · ${escapeHtml(report.dir)}</p>
<table><tr><th></th><th>invariant</th><th>details</th></tr>${checks}</table>
<h2>Timeline</h2><p class="legend">${legend} <span><i style="background:#4aa3c7"></i>pass (downlink contact)</span> <span><i style="background:${OUTAGE_COLOUR}"></i>link outage (flap, drop)</span></p>
<div class="scroll">${timelineSvg(record)}</div>
${linksHtml(record)}
<h2>Jobs</h2>
<table><tr><th>job</th><th>tenant</th><th>submitted</th><th>HTTP</th><th>state</th><th>node</th><th>result at</th><th>reason</th></tr>${jobs}</table>
</body></html>
`;
}

/** The link faults: how many outages of each cause, and how many of them hit an open contact. */
function linksHtml(record: ScenarioRecord): string {
  const links = record.links;
  if (links === undefined) return '';
  const names = { flap: 'scheduled flap', drop: 'drop', fault: 'flap fault' } as const;
  const byCause = (['flap', 'drop', 'fault'] as const).map((cause) => {
    const n = links.outages.filter((o) => o.cause === cause).length;
    return `${n} ${names[cause]}${n === 1 ? '' : 's'}`;
  }).join(', ');
  const hit = links.status?.filter((l) => l.outagesDuringContact > 0) ?? [];
  const counters = links.status === undefined ? `the emulator could not be read: ${escapeHtml(links.statusError ?? '')}`
    : `${hit.reduce((n, l) => n + l.outagesDuringContact, 0)} outages hit an open contact on ${hit.length} links, resetting ${hit.reduce((n, l) => n + l.connectionsCutByOutage, 0)} connections`
      + (hit.length === 0 ? '' : ` (${hit.slice(0, 20).map((l) => `${l.from}→${l.to}: ${l.outagesDuringContact}`).join(', ')}${hit.length > 20 ? ', …' : ''})`);
  const drops = links.drops === undefined ? 'no random drops' : `drops: probability ${links.drops.probabilityPerContact} per contact, ${links.drops.downSec} s each, seed ${links.seed}`;
  return `<h2>Links</h2><p>Outages in the run: ${byCause}${links.outagesLeftOff > 0 ? ` (and ${links.outagesLeftOff} more not drawn)` : ''}; ${escapeHtml(drops)}.<br>Link emulator: ${counters}.</p>`;
}

/** Writes the JSON and the HTML report; returns their paths. */
export function writeScenarioReport(record: ScenarioRecord, checks: readonly CheckResult[], jsonPath: string, htmlPath: string): ScenarioReport {
  const report = scenarioReport(record, checks);
  writeFileSync(jsonPath, reportJson(report));
  writeFileSync(htmlPath, reportHtml(report, record));
  return report;
}
