// Who is calling: tenants authenticate each request with an API key or an ed25519 signature, and
// get a `Principal` (tenant id, roles, operator name) that every route checks against.
//
// API keys. A key is "ofk_" + 32 random bytes in base64url (256 bits: guessing is hopeless, so a
// single unsalted SHA-256 is enough and lets the store index it; a password hash such as scrypt is
// for low-entropy secrets). The store keeps only SHA-256(key); the request's key is hashed and the
// two digests compared in constant time. Sent as `Authorization: Bearer <key>`.
//
// Signed requests (for tenants that keep a key pair instead of a bearer secret):
//   X-Orbitfed-Tenant: <tenant id>
//   X-Orbitfed-Timestamp: <Unix ms when signed>
//   X-Orbitfed-Signature: <ed25519 signature, 128 hex digits>
// over the canonical bytes CBOR ["orbitfed/api-request/v1", chain id, [method, path and query,
// timestamp, SHA-256 of the body bytes]] (consensus' signingBytes; verified with its one ZIP 215
// rule). The timestamp must be within `signatureSkewMsMax` of the scheduler's clock, and a
// signature is accepted once: replays within the window are refused (the cache of seen signatures
// holds `replayCacheEntriesMax`; at the bound the oldest is forgotten, which only matters past that
// many signed requests per window).
//
// Roles: `jobs` (submit and manage its own jobs), `nodes` (register nodes whose `operator` is the
// tenant's operator name), `admin` (register any node). Every authenticated tenant may read the
// node list, contacts and passes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OrbitfedError, type Clock } from '../common/index.ts';
import { checkPublicKeyForRegistration, ed25519Sign, ed25519Verify, signingBytes } from '../consensus/index.ts';
import type { JobStore, TenantRecord, TenantRole } from './job-store.ts';

/** Tenant ids: short enough that ledger account ids built from them stay within the ledger's 64. */
export const TENANT_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,47}$';
export const API_KEY_PREFIX = 'ofk_';
/** Domain tag of signed API requests (consensus/canonical-bytes.ts: one tag per signed structure). */
export const API_REQUEST_DOMAIN = 'orbitfed/api-request/v1';
export const SIGNATURE_SKEW_MS_MAX_DEFAULT = 300_000;
export const REPLAY_CACHE_ENTRIES_MAX_DEFAULT = 100_000;

export interface Principal {
  readonly tenantId: string;
  readonly roles: ReadonlySet<TenantRole>;
  readonly operator: string | undefined;
  readonly via: 'api-key' | 'signature';
}

/** A new API key (give it to the tenant once; store only `apiKeySha256(key)`). */
export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function apiKeySha256(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface SignedRequestParts {
  readonly method: string;
  /** Path and query exactly as sent ("/v1/jobs?limit=5"). */
  readonly pathAndQuery: string;
  readonly timestampMs: number;
  readonly body: Uint8Array;
}

export function requestSigningBytes(chainId: string, request: SignedRequestParts): Uint8Array {
  const bodySha256 = new Uint8Array(createHash('sha256').update(request.body).digest());
  return signingBytes(API_REQUEST_DOMAIN, chainId, [request.method.toUpperCase(), request.pathAndQuery, request.timestampMs, bodySha256]);
}

/** The three headers of a signed request (a client's helper; tests and the CLI use it). */
export function signRequest(seed: Uint8Array, tenantId: string, chainId: string, request: SignedRequestParts): Record<string, string> {
  const signature = ed25519Sign(seed, requestSigningBytes(chainId, request));
  return {
    'x-orbitfed-tenant': tenantId,
    'x-orbitfed-timestamp': String(request.timestampMs),
    'x-orbitfed-signature': Buffer.from(signature).toString('hex'),
  };
}

/** A signed request whose claimed tenant is known and has a key; the signature is checked once the body is read. */
export interface SignatureClaim {
  readonly tenant: TenantRecord;
  readonly timestampMs: number;
  readonly signature: Uint8Array;
}

export interface TenantDirectoryOptions {
  readonly chainId: string;
  readonly clock: Clock;
  readonly signatureSkewMsMax?: number;
  readonly replayCacheEntriesMax?: number;
}

function unauthorized(message: string, field?: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_AUTH_INVALID', message, field === undefined ? {} : { field });
}

const headerValue = (headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The tenants of the store, held in memory for authentication (bounded by the store's `tenantsMax`). */
export class TenantDirectory {
  readonly #store: JobStore;
  readonly #chainId: string;
  readonly #clock: Clock;
  readonly #skewMsMax: number;
  readonly #replayEntriesMax: number;
  #byKeyHash = new Map<string, TenantRecord>();
  #byId = new Map<string, TenantRecord>();
  /** Signature (hex) → when it stops being acceptable anyway (timestamp + skew). Insertion order = age. */
  readonly #seenSignatures = new Map<string, number>();

  constructor(store: JobStore, options: TenantDirectoryOptions) {
    this.#store = store;
    this.#chainId = options.chainId;
    this.#clock = options.clock;
    this.#skewMsMax = options.signatureSkewMsMax ?? SIGNATURE_SKEW_MS_MAX_DEFAULT;
    this.#replayEntriesMax = options.replayCacheEntriesMax ?? REPLAY_CACHE_ENTRIES_MAX_DEFAULT;
    this.reload();
  }

  /** Reads the tenants from the store again (after the configuration changed them). */
  reload(): void {
    const tenants = this.#store.tenants();
    this.#byId = new Map(tenants.map((t) => [t.id, t]));
    this.#byKeyHash = new Map(tenants.filter((t) => t.apiKeySha256 !== undefined).map((t) => [t.apiKeySha256!, t]));
  }

  /** `Authorization: Bearer <key>` → the tenant; ORBITFED_AUTH_INVALID for a key nobody has. */
  authenticateApiKey(authorization: string): Principal {
    const match = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(authorization.trim());
    if (match === null) throw unauthorized('the Authorization header must be "Bearer <API key>"', 'authorization');
    const digest = apiKeySha256(match[1]!);
    const tenant = this.#byKeyHash.get(digest);
    // The map finds the candidate; the digests are still compared in constant time before trusting it.
    if (tenant === undefined || !timingSafeEqual(Buffer.from(tenant.apiKeySha256!, 'hex'), Buffer.from(digest, 'hex'))) {
      throw unauthorized('unknown API key', 'authorization');
    }
    return principalOf(tenant, 'api-key');
  }

  /** Checks the signed-request headers' shape, the tenant and the time; the signature needs the body (`verifySignature`). */
  claimSignature(headers: Readonly<Record<string, string | string[] | undefined>>): SignatureClaim {
    const tenantId = headerValue(headers, 'x-orbitfed-tenant') ?? '';
    const timestamp = headerValue(headers, 'x-orbitfed-timestamp') ?? '';
    const signatureHex = headerValue(headers, 'x-orbitfed-signature') ?? '';
    const tenant = this.#byId.get(tenantId);
    if (tenant?.publicKeyHex === undefined) throw unauthorized(`tenant ${JSON.stringify(tenantId.slice(0, 64))} does not sign requests`, 'x-orbitfed-tenant');
    if (!/^[0-9]{1,16}$/.test(timestamp)) throw unauthorized('X-Orbitfed-Timestamp must be the Unix time in ms when the request was signed', 'x-orbitfed-timestamp');
    const timestampMs = Number(timestamp);
    const skewMs = Math.abs(this.#clock.now() - timestampMs);
    if (skewMs > this.#skewMsMax) {
      throw unauthorized(`the request was signed ${Math.round(skewMs / 1000)} s away from the scheduler's time; at most ${this.#skewMsMax / 1000} s are accepted`, 'x-orbitfed-timestamp');
    }
    if (!/^[0-9a-f]{128}$/.test(signatureHex)) throw unauthorized('X-Orbitfed-Signature must be 64 bytes in lower-case hex', 'x-orbitfed-signature');
    return { tenant, timestampMs, signature: new Uint8Array(Buffer.from(signatureHex, 'hex')) };
  }

  /** Verifies a claimed signature over the request as received; refuses a signature seen before. */
  verifySignature(claim: SignatureClaim, method: string, pathAndQuery: string, body: Uint8Array): Principal {
    const message = requestSigningBytes(this.#chainId, { method, pathAndQuery, timestampMs: claim.timestampMs, body });
    const publicKey = new Uint8Array(Buffer.from(claim.tenant.publicKeyHex!, 'hex'));
    if (!ed25519Verify(publicKey, message, claim.signature)) {
      throw unauthorized('the signature does not verify over this method, path, timestamp and body', 'x-orbitfed-signature');
    }
    const nowMs = this.#clock.now();
    const key = Buffer.from(claim.signature).toString('hex');
    for (const [seen, untilMs] of this.#seenSignatures) {
      if (untilMs >= nowMs && this.#seenSignatures.size < this.#replayEntriesMax) break;
      this.#seenSignatures.delete(seen);
    }
    if (this.#seenSignatures.has(key)) throw unauthorized('this signed request was already received (a replay)', 'x-orbitfed-signature');
    this.#seenSignatures.set(key, claim.timestampMs + this.#skewMsMax);
    return principalOf(claim.tenant, 'signature');
  }
}

function principalOf(tenant: TenantRecord, via: Principal['via']): Principal {
  return { tenantId: tenant.id, roles: new Set(tenant.roles), operator: tenant.operator, via };
}

/** Refuses a public key that may not register (small order, off the curve, non-canonical, torsion). */
export function checkTenantPublicKey(publicKeyHex: string, field: string): void {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) throw new OrbitfedError('ORBITFED_TENANT_KEY', 'an ed25519 public key is 32 bytes in lower-case hex', { field });
  const check = checkPublicKeyForRegistration(new Uint8Array(Buffer.from(publicKeyHex, 'hex')));
  if (!check.ok) throw new OrbitfedError('ORBITFED_TENANT_KEY', `public key refused (${check.reason}): ${check.detail}`, { field });
}

export const isTenantRole = (value: string): value is TenantRole => value === 'jobs' || value === 'nodes' || value === 'admin';
