// A client of one validator's RPC (validator-rpc.ts) over HTTP: what the scheduler, the agents'
// gateways, the demo and the bench use to submit ledger transactions and read the chain. Errors
// come back as OrbitfedError with the server's problem code.
import { encodeCbor } from '../dtn/index.ts';
import { OrbitfedError } from '../common/index.ts';
import type { CommittedBlockInfo } from './validator-node.ts';
import type { MempoolAdmission } from './mempool.ts';

export interface SubmittedTx {
  readonly hash: string;
  readonly admission: MempoolAdmission;
  readonly status: 'pending' | 'committed' | 'unknown';
  readonly height?: number;
  readonly code?: number;
  readonly log?: string;
}

export interface ValidatorStatus {
  readonly chainId: string;
  readonly name: string;
  readonly height: number;
  readonly round: number;
  readonly step: string;
  readonly lastCommitted: CommittedBlockInfo | null;
  readonly mempoolTxs: number;
}

export class ValidatorClient {
  readonly #baseUrl: string;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl.replace(/\/$/, '');
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** Submits transactions; with `waitForCommit`, answers once each is committed (or the timeout passes). */
  async submit(txs: readonly Uint8Array[], options: { waitForCommit?: boolean; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SubmittedTx[]> {
    const query = new URLSearchParams();
    if (options.waitForCommit === true) query.set('wait', 'commit');
    if (options.timeoutMs !== undefined) query.set('timeoutMs', String(options.timeoutMs));
    const body = encodeCbor(txs);
    const response = await this.#fetch(`/v1/txs${query.size > 0 ? `?${query}` : ''}`, {
      method: 'POST', headers: { 'content-type': 'application/cbor' }, body, ...(options.signal ? { signal: options.signal } : {}),
    });
    return ((await response.json()) as { txs: SubmittedTx[] }).txs;
  }

  async status(): Promise<ValidatorStatus> {
    return (await (await this.#fetch('/v1/status')).json()) as ValidatorStatus;
  }

  async block(height: number): Promise<CommittedBlockInfo | undefined> {
    return this.#optional<CommittedBlockInfo>(`/v1/blocks/${height}`);
  }

  /** An account's record with `balanceMinor` as a decimal string; undefined when there is none. */
  async account(id: string): Promise<Record<string, unknown> | undefined> {
    return this.#optional(`/v1/accounts/${encodeURIComponent(id)}`);
  }

  async escrowOfJob(jobId: string): Promise<Record<string, unknown> | undefined> {
    return this.#optional(`/v1/jobs/${encodeURIComponent(jobId)}/escrow`);
  }

  async escrow(id: string): Promise<Record<string, unknown> | undefined> {
    return this.#optional(`/v1/escrows/${encodeURIComponent(id)}`);
  }

  /** Pending escrows (at most 10,000). */
  async pendingEscrows(): Promise<Record<string, unknown>[]> {
    return ((await (await this.#fetch('/v1/escrows?status=pending')).json()) as { escrows: Record<string, unknown>[] }).escrows;
  }

  /** A ledger node (keys, reputation); undefined when there is none. */
  async node(id: string): Promise<Record<string, unknown> | undefined> {
    return this.#optional(`/v1/nodes/${encodeURIComponent(id)}`);
  }

  async #optional<T>(path: string): Promise<T | undefined> {
    const response = await fetch(`${this.#baseUrl}${path}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw await problemOf(response, path);
    return (await response.json()) as T;
  }

  /**
   * One request; a request that failed on a reused connection the server had just closed is sent
   * once more (every request here is idempotent: a transaction submitted twice is one transaction).
   */
  async #fetch(path: string, init?: RequestInit): Promise<Response> {
    let response: Response | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      try {
        response = await fetch(`${this.#baseUrl}${path}`, init);
      } catch (error) {
        const socketClosed = (error as { cause?: { code?: string } }).cause?.code === 'UND_ERR_SOCKET';
        if (attempt === 1 && socketClosed && init?.signal?.aborted !== true) continue;
        throw new OrbitfedError('ORBITFED_VALIDATOR_UNREACHABLE', `${this.#baseUrl}${path}: ${(error as Error).message}`, {}, { cause: error });
      }
    }
    if (!response.ok) throw await problemOf(response, path);
    return response;
  }
}

async function problemOf(response: Response, path: string): Promise<OrbitfedError> {
  const text = await response.text();
  try {
    const problem = JSON.parse(text) as { code?: string; detail?: string };
    return new OrbitfedError(problem.code ?? 'ORBITFED_VALIDATOR_ERROR', `${path}: ${response.status} ${problem.detail ?? text}`);
  } catch {
    return new OrbitfedError('ORBITFED_VALIDATOR_ERROR', `${path}: ${response.status} ${text.slice(0, 200)}`);
  }
}
