// Bad input at the REST API's edge (ARCHITECTURE: "validated at the edge with schemas, answered
// with a precise error, bounded in size before it is decoded, and never crashes the process or
// touches stored state"): each case is a 4xx RFC 9457 problem document naming what was wrong, the
// server answers the next request, and the store, the ledger and the contact bookings are exactly
// as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeHarnessFiles, startHarness, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, T0_MS } from './job-fixtures.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
  removeHarnessFiles();
});

const valid = jobSpec({ input: { sizeBytes: 1_000, location: 'gs-munich' }, deadlineMs: T0_MS + 6 * HOUR_MS });
const validText = JSON.stringify(valid);

interface Case {
  readonly name: string;
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly detail?: RegExp;
  readonly method?: 'POST' | 'GET' | 'DELETE';
  readonly url?: string;
  readonly payload?: string | Buffer;
  readonly headers?: Record<string, string>;
}

const withField = (path: string[], value: unknown): string => {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return JSON.stringify(copy);
};

const CASES: readonly Case[] = [
  { name: 'malformed JSON', status: 400, code: 'ORBITFED_API_MALFORMED_JSON', field: '', detail: /not JSON: .*position|JSON/, payload: '{"name": "x", ' },
  { name: 'a body that is not UTF-8', status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: /UTF-8/, payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  { name: 'an empty body', status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: /empty/, payload: '' },
  { name: 'a JSON array instead of an object', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '', payload: '[1, 2]' },
  { name: 'null', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '', payload: 'null' },
  { name: 'a number as a string', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/resources/cpu', detail: /\/resources\/cpu: .*number.*"2"/, payload: withField(['resources', 'cpu'], '2') },
  { name: 'a fractional byte count', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/input/sizeBytes', payload: withField(['input', 'sizeBytes'], 1.5) },
  { name: 'a negative size', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/result/sizeBytes', payload: withField(['result', 'sizeBytes'], -1) },
  { name: 'a missing required field', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/executionMs', payload: JSON.stringify({ ...valid, executionMs: undefined }) },
  { name: 'an unknown field', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/colour', payload: JSON.stringify({ ...valid, colour: 'red' }) },
  { name: 'an unknown nested field', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/sovereignty/atRestt', payload: withField(['sovereignty'], { atRestt: ['DE'] }) },
  { name: 'a "__proto__" key', status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: /__proto__/, payload: validText.replace('{', '{"__proto__": {"admin": true}, ') },
  { name: 'an unassigned country code', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/sovereignty/atRest/1', detail: /"XX" is neither/, payload: withField(['sovereignty'], { atRest: ['DE', 'XX'] }) },
  { name: '"UK" for the United Kingdom', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/sovereignty/downlink/countries/0', detail: /GB/, payload: withField(['sovereignty'], { downlink: { countries: ['UK'] } }) },
  { name: 'a lower-case country code', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/sovereignty/atRest/0', payload: withField(['sovereignty'], { atRest: ['de'] }) },
  { name: 'a deadline in the past', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/deadlineMs', detail: /not in the future/, payload: withField(['deadlineMs'], T0_MS - 1) },
  { name: 'a deadline beyond year 2999', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/deadlineMs', payload: withField(['deadlineMs'], 1e17) },
  { name: 'neither image nor command', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/image', payload: JSON.stringify({ ...valid, command: undefined }) },
  { name: 'a huge body', status: 413, code: 'ORBITFED_API_BODY_TOO_LARGE', field: 'content-length', payload: withField(['name'], 'x'.repeat(300 * 1024)) },
  { name: 'JSON nested 100,000 deep', status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: /deeper than 32 levels/, payload: `{"name": ${'['.repeat(100_000)}${']'.repeat(100_000)}}` },
  { name: 'text/plain', status: 415, code: 'ORBITFED_API_MEDIA_TYPE', field: 'content-type', payload: validText, headers: { 'content-type': 'text/plain' } },
  { name: 'a dry run with an unknown field', status: 400, code: 'ORBITFED_JOB_SPEC_INVALID', field: '/priorityy', url: '/v1/placements:dry-run', payload: JSON.stringify({ ...valid, priorityy: 3 }) },
  { name: 'a cursor nobody gave out', status: 400, code: 'ORBITFED_API_CURSOR', field: 'cursor', method: 'GET', url: '/v1/jobs?cursor=bm90LWEtY3Vyc29y' },
  { name: 'a limit of 0', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: '/limit', method: 'GET', url: '/v1/jobs?limit=0' },
  { name: 'a limit that is not a number', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: '/limit', method: 'GET', url: '/v1/jobs?limit=ten' },
  { name: 'an unknown query parameter', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', method: 'GET', url: '/v1/jobs?colour=red' },
  { name: 'an unknown state filter', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: '/state', method: 'GET', url: '/v1/jobs?state=sleeping' },
  { name: 'a job id with a slash-like character', status: 400, code: 'ORBITFED_API_INVALID_PARAMS', field: '/id', method: 'GET', url: '/v1/jobs/..%2F..%2Fetc' },
  { name: 'a contacts window backwards', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: 'to', method: 'GET', url: `/v1/contacts?node=gs-munich&from=${T0_MS + 10}&to=${T0_MS}` },
  { name: 'a contacts window of 30 days', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: 'to', method: 'GET', url: `/v1/contacts?node=gs-munich&from=${T0_MS}&to=${T0_MS + 30 * 86_400_000}` },
  { name: 'a time that is no time', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: '/from', method: 'GET', url: '/v1/contacts?node=gs-munich&from=yesterday' },
  { name: 'passes of a satellite', status: 400, code: 'ORBITFED_API_INVALID_QUERYSTRING', field: 'station', method: 'GET', url: '/v1/passes?station=sat-a' },
  { name: 'an unknown endpoint', status: 404, code: 'ORBITFED_API_NOT_FOUND', method: 'GET', url: '/v1/jobz' },
];

describe('bad input to the REST API', () => {
  it.each(CASES)('answers $name with $status $code and changes nothing', async (c) => {
    const before = { jobs: h.store.jobCount(), balance: await h.escrow.balanceMinor('acme', 'EUR'), ledgerHeight: h.escrow.ledger.height };
    const response = await h.app.inject({
      method: c.method ?? 'POST',
      url: c.url ?? '/v1/jobs',
      headers: { ...h.auth('acme'), ...(c.method === 'GET' ? {} : { 'content-type': 'application/json' }), 'idempotency-key': `bad-${c.name}`, ...c.headers },
      ...(c.payload === undefined ? {} : { payload: c.payload }),
    });
    expect(response.statusCode).toBe(c.status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code, type: expect.stringMatching(/^urn:orbitfed:problem:/), title: expect.any(String), detail: expect.any(String) });
    if (c.field !== undefined) expect(problem.field).toBe(c.field);
    if (c.detail !== undefined) expect(problem.detail).toMatch(c.detail);
    expect(h.store.jobCount()).toBe(before.jobs);
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(before.balance);
    expect(h.escrow.ledger.height).toBe(before.ledgerHeight);
    // Nothing was remembered under the key either: bad input is not an answer to replay.
    expect(h.store.idempotentResponse('acme', `bad-${c.name}`, h.clock.now())).toBeUndefined();
    for (let i = 0; i < h.lifecycle.plan.contacts.length; i += 1) expect(h.lifecycle.bookings.bookedBytes(i)).toBe(0);
  });

  it('lists every field at fault, not only the first', async () => {
    const response = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: h.auth('acme'), payload: { ...valid, executionMs: 'long', priority: -1, extra: true } });
    const problem = response.json();
    expect(problem.problems.map((p: { field: string }) => p.field).sort()).toEqual(['/executionMs', '/extra', '/priority']);
  });

  it('is still up and placing jobs after all of that', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const response = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: h.auth('acme'), payload: valid });
    expect(response.statusCode).toBe(201);
  });
});
