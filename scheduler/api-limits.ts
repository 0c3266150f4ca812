// The REST API's bounds and their defaults, apart from api.ts: the scheduler's configuration schema
// takes its defaults from here, and that schema is reachable from scheduler/index.ts, which the
// agents load; importing api.ts there would load fastify and its plugins into every agent (~4 MB).

export interface ApiLimits {
  /** Largest request body, bytes (413 beyond). */
  readonly bodyBytesMax: number;
  /** Requests per tenant per window (429 beyond). */
  readonly rateLimitRequests: number;
  readonly rateLimitWindowMs: number;
  /** Tenants (or addresses) the rate limiter remembers at once; the least recently seen is dropped. */
  readonly rateLimitKeysMax: number;
  /** Largest page of a listing. */
  readonly pageSizeMax: number;
  /** Contacts or passes one query returns at most (the answer says `truncated`). */
  readonly windowItemsMax: number;
  /** Longest window a contacts or passes query may ask for. */
  readonly windowMsMax: number;
  /** Longest Idempotency-Key accepted. */
  readonly idempotencyKeyLengthMax: number;
}

export const API_LIMITS_DEFAULT: ApiLimits = {
  bodyBytesMax: 256 * 1024,
  rateLimitRequests: 600,
  rateLimitWindowMs: 60_000,
  rateLimitKeysMax: 10_000,
  pageSizeMax: 200,
  windowItemsMax: 5_000,
  windowMsMax: 7 * 86_400_000,
  idempotencyKeyLengthMax: 255,
};
