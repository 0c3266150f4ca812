// The ledger panel: the tenant's balances, what its newest jobs hold in escrow, paid (with the
// protocol fee) or got back, the federation's fee accounts, providers' reputations, and the
// validators' height and health.
import { el, replaceChildren } from './dom-builder.js';
import { dateTimeText, moneyText, ppmText, relativeText, shortId } from './units-format.js';

const PROVIDERS_SHOWN_MAX = 12;

function section(title, ...content) {
  return el('div', {}, el('h3', {}, title), ...content);
}

/** `rowData` (optional): each row's data attributes, so a row can be found by what it shows. */
function table(headings, rows, rowData = []) {
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, headings.map(([text, numeric]) => el('th', { class: numeric && 'numeric' }, text)))),
    el('tbody', {}, rows.map((cells, r) => el('tr', { dataset: rowData[r] ?? {} }, cells.map((cell, i) => el('td', { class: headings[i][1] && 'numeric' }, cell)))))));
}

/** Renders GET v1/dashboard/ledger's answer. */
export function renderLedger(container, summaryLine, ledger, nowMs) {
  const source = { 'in-process': 'the scheduler’s in-process ledger', validators: 'the validators', 'escrow-port': 'the escrow port (balances and escrow states only)' }[ledger.source] ?? ledger.source;
  summaryLine.textContent = `from ${source}${ledger.height !== undefined ? ` · height ${ledger.height}` : ''}`;
  const rated = ledger.providers.filter((p) => p.reputationPpm !== undefined);
  const providers = rated.sort((a, b) => b.reputationPpm - a.reputationPpm).slice(0, PROVIDERS_SHOWN_MAX);
  const unrated = ledger.providers.length - rated.length;
  replaceChildren(container,
    el('div', { class: 'ledger-grid' },
      section('Balance', ledger.balances.length === 0 ? el('p', { class: 'muted' }, 'No account yet.')
        : ledger.balances.map((b) => el('p', { class: 'balance', dataset: { currency: b.currency } }, moneyText(b.balanceMinor, b.currency)))),
      section('Your jobs’ money', ledger.totals.length === 0 ? el('p', { class: 'muted' }, 'Nothing held or paid yet.')
        : table([['currency'], ['held', true], ['paid', true], ['of it fees', true], ['refunded', true]],
          ledger.totals.map((t) => [t.currency, moneyText(t.heldMinor, t.currency), moneyText(t.settledMinor, t.currency), moneyText(t.feesMinor, t.currency), moneyText(t.refundedMinor, t.currency)]))),
      section('Validators', ledger.validators.length === 0
        ? el('p', { class: 'muted' }, ledger.source === 'in-process' ? `The ledger runs inside the scheduler (height ${ledger.height}, last block ${relativeText(ledger.lastBlockTimeMs, nowMs)}).` : 'No validator RPC configured.')
        : table([['validator'], ['height', true], ['step'], ['health']], ledger.validators.map((v) => [
          el('span', { title: v.url }, v.name ?? v.url), v.height ?? '—', v.step ?? '—',
          el('span', { class: ['health', v.healthy ? 'ok' : 'bad'], title: v.error ?? '' }, v.healthy ? 'ok' : 'down')]),
        ledger.validators.map((v) => ({ validator: v.url, height: v.height ?? '', health: v.healthy ? 'ok' : 'down' }))))),
    section('Escrows of your newest jobs', ledger.escrows.length === 0 ? el('p', { class: 'muted' }, 'None.')
      : table([['job'], ['status'], ['amount', true], ['paid', true], ['fee', true], ['settled by'], ['when']], ledger.escrows.map((e) => [
        shortId(e.jobId), e.status + (e.slaReportId ? ' (SLA violation)' : ''), moneyText(e.amountMinor, e.currency),
        e.postedMinor ? moneyText(e.postedMinor, e.currency) : '—', e.feeMinor ? moneyText(e.feeMinor, e.currency) : '—', e.settledBy ?? '—',
        e.resolvedAtMs ? dateTimeText(e.resolvedAtMs) : `until ${dateTimeText(e.deadlineMs)}`]))),
    el('div', { class: 'ledger-grid' },
      section('Federation fees collected', ledger.feeAccounts.length === 0 ? el('p', { class: 'muted' }, 'None yet.')
        : ledger.feeAccounts.map((f) => el('p', {}, moneyText(f.balanceMinor, f.currency)))),
      section('Providers’ reputation',
        providers.length > 0 ? table([['node'], ['reputation', true]], providers.map((p) => [p.nodeId, ppmText(p.reputationPpm)])) : undefined,
        unrated > 0 ? el('p', { class: 'muted' }, `${unrated} node(s) without a reputation on the ledger yet (it starts at 50 % once a node registers its key).`) : undefined,
        ledger.providers.length === 0 ? el('p', { class: 'muted' }, 'No providers registered.') : undefined)),
    ledger.problems.length > 0 ? el('p', { class: 'error' }, `Not all of the ledger answered: ${ledger.problems.slice(0, 3).join('; ')}`) : undefined);
}
