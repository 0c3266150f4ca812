// The invariants of a scenario run, checked on records: a clean run passes every check, and each
// way a federation can go wrong — a job left hanging, a result downlinked outside the EU, validators
// that disagree, money that appears, a job the API forgot, a process that died — is caught and named.
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../common/index.ts';
import { checkScenario, parseScenarioText, reportHtml, reportJson, scenarioReport, type LedgerRecord, type ScenarioRecord, type SubmissionRecord } from '../../hil/index.ts';
import { euSovereignJob } from '../../hil/index.ts';
import { NodeSpecSchema, type NodeSpec } from '../../scheduler/index.ts';

const NODES = fileURLToPath(new URL('../../samples/demo/nodes.yaml', import.meta.url));
const T0 = Date.UTC(2026, 5, 14, 6);
let nodes: NodeSpec[];

beforeAll(async () => {
  nodes = await loadConfigFile(NODES, Type.Array(NodeSpecSchema), 'nodes');
});

const scenario = parseScenarioText(`name: checks
elements: e.tle
stations: s.yaml
nodes: n.yaml
tenants: [{ id: eu-agency, roles: [jobs] }]
durationSec: 3600
expect: { acceptedMin: 1 }
`, { file: '/lab/checks.yaml', what: 'scenario' });

function submission(overrides: Partial<SubmissionRecord> = {}, placement: Record<string, unknown> = {}, state = 'succeeded'): SubmissionRecord {
  return {
    index: 0, tenant: 'eu-agency', name: 'ndvi', spec: euSovereignJob(T0 + 3_600_000), plannedMs: T0, submittedMs: T0, status: 201, jobId: 'job-1', problem: undefined,
    finalJob: {
      id: 'job-1', state, deadlineMs: T0 + 3_600_000, ...(state === 'succeeded' ? {} : { reason: 'the deadline passed before a result arrived' }),
      placement: {
        nodeId: 'noaa-20', resultStation: 'kiruna', escrowId: 'job-1.1',
        inputRoute: { hops: [{ from: 'kiruna', to: 'noaa-20' }] }, resultRoute: { hops: [{ from: 'noaa-20', to: 'kiruna' }] }, ...placement,
      },
    },
    events: [{ seq: 1, atMs: T0, type: 'submitted', toState: 'submitted', detail: {} }, { seq: 2, atMs: T0 + 1000, type: 'placed', fromState: 'submitted', toState: 'placed', detail: {} }],
    readError: undefined,
    ...overrides,
  };
}

function ledger(validator: number, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    validator, rpcUrl: `http://127.0.0.1:${26601 + validator}`, error: undefined, height: 40, appHash: 'aa', supplyMinor: '1000100',
    balances: { 'fee-EUR': '1', 'escrow-EUR': '0', 't:eu-agency:EUR': '999975', 'p:noaa-20:EUR': '24', 'validator-0-stake': '100' },
    escrows: { 'job-1.1': 'posted' }, commonBlockHash: 'b1/aa', ...overrides,
  };
}

function record(overrides: Partial<ScenarioRecord> = {}): ScenarioRecord {
  return {
    scenario, dir: '/tmp/run', timeBase: { wallOriginMs: 0, originMs: T0, timeScale: 60 }, planStartMs: T0, runningMs: T0, endMs: T0 + 3_600_000,
    planHash: 'ab'.repeat(32), contacts: [{ from: 'noaa-20', to: 'kiruna', startMs: T0 + 600_000, endMs: T0 + 1_200_000 }],
    nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, ipn: n.ipn })),
    submissions: [submission()], faults: [], exits: [], ledger: [ledger(0), ledger(1)], commonHeight: 40,
    accounts: ['fee-EUR', 'escrow-EUR', 't:eu-agency:EUR', 'p:noaa-20:EUR', 'validator-0-stake'],
    federationSpec: { currency: 'EUR' } as ScenarioRecord['federationSpec'],
    inputs: { nodes } as unknown as ScenarioRecord['inputs'],
    ...overrides,
  };
}

const failed = (r: ScenarioRecord): Record<string, readonly string[]> => Object.fromEntries(checkScenario(r).filter((c) => !c.ok).map((c) => [c.id, c.details]));

describe('scenario invariants', () => {
  it('pass for a run where everything went right', () => {
    expect(failed(record())).toEqual({});
  });

  it('accept a refusal with a problem code and a job that expired with a reason, not a job still running or a failure without a reason', () => {
    const refused = submission({ status: 422, jobId: undefined, finalJob: undefined, events: [], problem: { code: 'ORBITFED_JOB_DEADLINE_INFEASIBLE', detail: 'too soon' } });
    expect(failed(record({ submissions: [submission({}, {}, 'expired'), refused], ledger: [ledger(0, { escrows: { 'job-1.1': 'voided' } })] }))).toEqual({});
    const hanging = failed(record({ submissions: [submission({}, {}, 'running')], ledger: [ledger(0, { escrows: { 'job-1.1': 'pending' } })] }));
    expect(hanging['jobs-explicit']![0]).toMatch(/still running at the end of the run/);
    const silent = submission({}, {}, 'failed');
    delete (silent.finalJob as Record<string, unknown>).reason;
    expect(failed(record({ submissions: [silent] }))['jobs-explicit']![0]).toMatch(/failed without a reason/);
    const noAnswer = submission({ status: 0, jobId: undefined, finalJob: undefined, problem: { code: 'ORBITFED_DEMO_API', detail: 'fetch failed' } });
    expect(failed(record({ submissions: [noAnswer] }))['jobs-explicit']![0]).toMatch(/got no answer: fetch failed/);
  });

  it('catch an EU-only result downlinked in Norway, a result route through a US station, and a ground placement of an orbital-only job', () => {
    const norway = failed(record({ submissions: [submission({}, { resultStation: 'svalbard', resultRoute: { hops: [{ from: 'noaa-20', to: 'svalbard' }] } })] }));
    expect(norway.sovereignty).toEqual([
      'ndvi (job-1): its result comes down at svalbard, not an allowed downlink',
      'ndvi (job-1): its result route comes down at svalbard, not an allowed downlink',
    ]);
    const onGround = failed(record({ submissions: [submission({}, { nodeId: 'kiruna' })] }));
    expect(onGround.sovereignty![0]).toMatch(/must run in orbit, placed on kiruna/);
    const delivered = submission();
    const events = [...delivered.events, { seq: 3, atMs: T0 + 2000, type: 'succeeded', toState: 'succeeded', detail: { station: 'wallops' } }];
    expect(failed(record({ submissions: [{ ...delivered, events }] })).sovereignty![0]).toMatch(/delivered at wallops/);
  });

  it('catch validators that disagree on an escrow or a block, and an escrow missing from the chain', () => {
    const split = failed(record({ ledger: [ledger(0), ledger(1, { escrows: { 'job-1.1': 'pending' }, commonBlockHash: 'b2/bb' })] }));
    expect(split.escrows![0]).toMatch(/differs between validators: posted, pending/);
    expect(split['validators-agree']![0]).toMatch(/different blocks at height 40/);
    expect(failed(record({ ledger: [ledger(0, { escrows: {} })] })).escrows).toContain('ndvi (job-1): escrow job-1.1 is not on the chain');
  });

  it('catch money that appears from nowhere and balances that differ between validators', () => {
    const minted = failed(record({ ledger: [ledger(0, { balances: { ...ledger(0).balances, 'p:noaa-20:EUR': '1024' } })] }));
    expect(minted.money![0]).toBe('validator 0: the balances add up to 1001100, the supply is 1000100');
    const differ = failed(record({ ledger: [ledger(0), ledger(1, { balances: { ...ledger(1).balances, 'fee-EUR': '0', 'p:noaa-20:EUR': '25' } })] }));
    expect(differ.money).toContain('account fee-EUR: validator 0 has 1, validator 1 has 0');
  });

  it('catch an accepted job the API no longer knows, a process that died unasked, a fault not applied, and unmet expectations', () => {
    const lost = submission({ finalJob: undefined, readError: 'GET /v1/jobs/job-1: 404 ORBITFED_API_NOT_FOUND' });
    const result = failed(record({
      submissions: [lost],
      exits: [{ atMs: T0 + 5000, name: 'validator-2', code: null, signal: 'SIGSEGV', expected: false, logTail: 'one\ntwo\nsegfault' }],
      faults: [{ index: 0, fault: { atSec: 5, kind: 'start', process: 'scheduler' }, plannedMs: T0, appliedMs: T0, doneMs: T0, error: 'scheduler exited while starting' }],
    }));
    expect(result['nothing-lost']![0]).toMatch(/accepted, then not found: GET \/v1\/jobs\/job-1: 404/);
    expect(result.processes![0]).toMatch(/validator-2 died unasked .*SIGSEGV.*segfault/);
    expect(result.processes![1]).toMatch(/fault 0 \(start\) was not applied/);
    expect(failed(record({ submissions: [] })).expectations![0]).toBe('0 jobs accepted, expected at least 1');
  });

  it('write a JSON report (bigints as text) and an HTML page with an inline SVG timeline, escaping what it shows', () => {
    const hostile = submission({ name: '<script>alert(1)</script>' });
    const r = record({ submissions: [hostile] });
    const report = scenarioReport(r, checkScenario(r));
    const json = JSON.parse(reportJson(report)) as { ok: boolean; checks: unknown[] };
    expect(json.ok).toBe(true);
    const html = reportHtml(report, r);
    expect(html).toMatch(/<svg [^>]*role="img"/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
