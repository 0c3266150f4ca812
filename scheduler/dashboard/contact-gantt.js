/* global window */
// The Gantt view of upcoming contacts: one row per ground station and per satellite, a bar for
// each window in which a pair has contacts (drawn on both rows, named by the peer), the hours as
// lines, now as a red line. Bars with volume booked for jobs are brighter; the selected job's
// contacts stand out.
import { replaceChildren, svg } from './dom-builder.js';
import { bytesText, dateTimeText, hourMinuteText, rateText } from './units-format.js';

const LABEL_WIDTH = 104;
const TOP = 18;
const ROW_HEIGHT = 16;
const HOUR_MS = 3_600_000;
const WIDTH_MIN = 480;

export class ContactGantt {
  #root;
  #data;
  #nowMs;
  #jobContacts = new Set();
  #nowLine;

  constructor(root) {
    this.#root = root;
    window.addEventListener('resize', () => this.render());
  }

  /** GET v1/dashboard/gantt's answer. */
  update(gantt) {
    this.#data = gantt;
    this.#nowMs ??= gantt.nowMs;
    this.render();
  }

  /** The contacts the selected job's routes use (indices in the current plan). */
  setJobContacts(contacts) {
    this.#jobContacts = new Set(contacts ?? []);
    this.render();
  }

  setNow(nowMs) {
    this.#nowMs = nowMs;
    if (this.#nowLine !== undefined && this.#data !== undefined) {
      const x = this.#x(nowMs);
      this.#nowLine.setAttribute('x1', x.toFixed(1));
      this.#nowLine.setAttribute('x2', x.toFixed(1));
    }
  }

  #width() {
    return Math.max(WIDTH_MIN, this.#root.parentElement?.clientWidth ?? WIDTH_MIN);
  }

  #x(ms) {
    const { fromMs, toMs } = this.#data;
    const span = this.#width() - LABEL_WIDTH - 6;
    return LABEL_WIDTH + Math.min(Math.max((ms - fromMs) / (toMs - fromMs), 0), 1) * span;
  }

  render() {
    if (this.#data === undefined) return;
    const { rows, bars, fromMs, toMs } = this.#data;
    const width = this.#width();
    const height = TOP + rows.length * ROW_HEIGHT + 4;
    this.#root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this.#root.setAttribute('width', String(width));
    this.#root.setAttribute('height', String(height));
    const rowOf = new Map(rows.map((row, i) => [row.ipn, i]));
    const labelOf = new Map(rows.map((row) => [row.ipn, row.label ?? row.id]));
    const nodes = [];
    for (let t = Math.ceil(fromMs / HOUR_MS) * HOUR_MS; t <= toMs; t += HOUR_MS) {
      const x = this.#x(t).toFixed(1);
      nodes.push(svg('line', { class: 'hour-line', x1: x, x2: x, y1: TOP - 4, y2: height }));
      nodes.push(svg('text', { class: 'hour-label', x, y: TOP - 6, 'text-anchor': 'middle' }, hourMinuteText(t)));
    }
    rows.forEach((row, i) => {
      const y = TOP + i * ROW_HEIGHT;
      nodes.push(svg('line', { class: 'row-line', x1: 0, x2: width, y1: y + ROW_HEIGHT, y2: y + ROW_HEIGHT }));
      const label = row.label ?? row.id;
      nodes.push(svg('text', { class: ['row-label', row.kind], x: 2, y: y + ROW_HEIGHT - 4 }, label.length > 16 ? `${label.slice(0, 15)}…` : label, svg('title', {}, `${label} (${row.id})`)));
    });
    for (const bar of bars) {
      const x1 = this.#x(bar.startMs);
      const x2 = Math.max(this.#x(bar.endMs), x1 + 1.5);
      const ofJob = bar.contacts.some((c) => this.#jobContacts.has(c));
      const isl = rows[rowOf.get(bar.aIpn)]?.kind === 'satellite' && rows[rowOf.get(bar.bIpn)]?.kind === 'satellite';
      const a = labelOf.get(bar.aIpn) ?? bar.a;
      const b = labelOf.get(bar.bIpn) ?? bar.b;
      const tip = `${a} ↔ ${b}, ${dateTimeText(bar.startMs)} – ${hourMinuteText(bar.endMs)}; ${a}→${b} ${rateText(bar.rateAToBBytesPerSec)}, `
        + `${b}→${a} ${rateText(bar.rateBToABytesPerSec)}; booked ${bytesText(bar.bookedBytes)} of ${bytesText(bar.capacityBytes)}${ofJob ? ' — used by the selected job' : ''}`;
      for (const [ipn, peer] of [[bar.aIpn, b], [bar.bIpn, a]]) {
        const i = rowOf.get(ipn);
        if (i === undefined) continue;
        const y = TOP + i * ROW_HEIGHT + 2;
        nodes.push(svg('rect', {
          class: ['bar', isl && 'isl', bar.bookedBytes > 0 && 'booked', ofJob && 'job'], x: x1.toFixed(1), y, width: (x2 - x1).toFixed(1), height: ROW_HEIGHT - 4, rx: 2,
          dataset: { contacts: bar.contacts.join(',') },
        }, svg('title', {}, tip)));
        if (x2 - x1 > 40) nodes.push(svg('text', { class: 'bar-label', x: (x1 + 3).toFixed(1), y: y + ROW_HEIGHT - 7 }, peer));
      }
    }
    const x = this.#x(this.#nowMs ?? this.#data.nowMs).toFixed(1);
    this.#nowLine = svg('line', { class: 'now-line', x1: x, x2: x, y1: TOP - 4, y2: height });
    nodes.push(this.#nowLine);
    replaceChildren(this.#root, nodes);
  }
}
