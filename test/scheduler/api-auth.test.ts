// Tenant authentication (scheduler/tenants.ts): API keys stored as digests only, ed25519-signed
// requests bound to method, path, time and body, replays refused.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unixMs, VirtualClock } from '../../common/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/index.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { apiKeySha256, newApiKey, signRequest, TenantDirectory } from '../../scheduler/tenants.ts';
import { scratchDirectory, T0_MS } from './job-fixtures.ts';

const scratch = scratchDirectory('auth');
afterAll(() => scratch.remove());

const seed = new Uint8Array(32).fill(7);
const keyPair = ed25519KeyPairFromSeed(seed);
const body = new TextEncoder().encode('{"name":"x"}');

function directory(): { tenants: TenantDirectory; clock: VirtualClock; key: string; store: JobStore } {
  const store = JobStore.open(join(scratch.path, `auth-${Math.random().toString(36).slice(2)}.db`));
  const key = newApiKey();
  store.putTenant({ id: 'acme', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(key), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'signer', roles: ['jobs', 'nodes'], operator: 'ksat', apiKeySha256: undefined, publicKeyHex: Buffer.from(keyPair.publicKey).toString('hex') }, T0_MS);
  const clock = new VirtualClock(unixMs(T0_MS));
  return { tenants: new TenantDirectory(store, { chainId: 'orbitfed-test', clock }), clock, key, store };
}

describe('tenant authentication', () => {
  it('makes 256-bit keys and keeps only their SHA-256', () => {
    const key = newApiKey();
    expect(key).toMatch(/^ofk_[A-Za-z0-9_-]{43}$/);
    expect(apiKeySha256(key)).toMatch(/^[0-9a-f]{64}$/);
    const { store, key: stored } = directory();
    expect(JSON.stringify(store.tenants())).not.toContain(stored);
    store.close();
  });

  it('accepts a known key as its tenant, and refuses an unknown or malformed one', () => {
    const { tenants, key, store } = directory();
    const principal = tenants.authenticateApiKey(`Bearer ${key}`);
    expect(principal).toMatchObject({ tenantId: 'acme', via: 'api-key' });
    expect([...principal.roles]).toEqual(['jobs']);
    expect(() => tenants.authenticateApiKey(`Bearer ${newApiKey()}`)).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID', message: expect.stringContaining('unknown API key') }));
    expect(() => tenants.authenticateApiKey(`Basic ${key}`)).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID' }));
    expect(() => tenants.authenticateApiKey('Bearer a b')).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID' }));
    store.close();
  });

  it('accepts a signed request once, bound to its method, path, timestamp and body', () => {
    const { tenants, store } = directory();
    const parts = { method: 'POST', pathAndQuery: '/v1/jobs', timestampMs: T0_MS, body };
    const headers = signRequest(seed, 'signer', 'orbitfed-test', parts);
    const claim = tenants.claimSignature(headers);
    expect(tenants.verifySignature(claim, 'POST', '/v1/jobs', body)).toMatchObject({ tenantId: 'signer', via: 'signature', operator: 'ksat' });
    // The same request again is a replay.
    expect(() => tenants.verifySignature(tenants.claimSignature(headers), 'POST', '/v1/jobs', body)).toThrow(expect.objectContaining({ message: expect.stringContaining('replay') }));
    // Each part is bound: another path, method or body does not verify.
    const other = signRequest(seed, 'signer', 'orbitfed-test', { ...parts, timestampMs: T0_MS + 1 });
    expect(() => tenants.verifySignature(tenants.claimSignature(other), 'POST', '/v1/jobs?x=1', body)).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID', location: { field: 'x-orbitfed-signature' } }));
    expect(() => tenants.verifySignature(tenants.claimSignature(other), 'DELETE', '/v1/jobs', body)).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID' }));
    expect(() => tenants.verifySignature(tenants.claimSignature(other), 'POST', '/v1/jobs', new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID' }));
    // Signed for another chain: does not verify here.
    const elsewhere = signRequest(seed, 'signer', 'other-chain', { ...parts, timestampMs: T0_MS + 2 });
    expect(() => tenants.verifySignature(tenants.claimSignature(elsewhere), 'POST', '/v1/jobs', body)).toThrow(expect.objectContaining({ code: 'ORBITFED_AUTH_INVALID' }));
    store.close();
  });

  it('refuses a signature made too far from the scheduler\'s time, a tenant without a key, and malformed headers', () => {
    const { tenants, clock, store } = directory();
    const stale = signRequest(seed, 'signer', 'orbitfed-test', { method: 'GET', pathAndQuery: '/v1/jobs', timestampMs: T0_MS, body: new Uint8Array(0) });
    clock.advance(301_000 as never);
    expect(() => tenants.claimSignature(stale)).toThrow(expect.objectContaining({ location: { field: 'x-orbitfed-timestamp' } }));
    expect(() => tenants.claimSignature({ ...stale, 'x-orbitfed-tenant': 'acme' })).toThrow(expect.objectContaining({ location: { field: 'x-orbitfed-tenant' } }));
    expect(() => tenants.claimSignature({ ...stale, 'x-orbitfed-timestamp': 'yesterday' })).toThrow(expect.objectContaining({ location: { field: 'x-orbitfed-timestamp' } }));
    const fresh = { ...stale, 'x-orbitfed-timestamp': String(clock.now()) };
    expect(() => tenants.claimSignature({ ...fresh, 'x-orbitfed-signature': 'zz' })).toThrow(expect.objectContaining({ location: { field: 'x-orbitfed-signature' } }));
    store.close();
  });
});
