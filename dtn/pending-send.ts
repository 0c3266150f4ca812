// A `send()` a convergence layer has taken on: settled exactly once, by the acknowledgement or by
// the first failure, whichever comes first (convergence-layer.ts: the caller keeps the bundle until
// then). Shared by every CL so that they settle and report a lost connection the same way.
import { OrbitfedError } from '../common/index.ts';

export interface SettleableSend {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  settled: boolean;
  /** Removes the send's abort listener and any other hook, once settled. */
  detach: () => void;
}

/** A queued or unacknowledged send of a CL that acknowledges bundles (libp2p, TCPCLv4, TCPCLv3). */
export interface PendingSend extends SettleableSend {
  readonly bundleBytes: number;
  /** Dropped (undefined) once written, so that an acknowledged-later bundle is not held twice. */
  bundle: Uint8Array | undefined;
}

/** Resolves (no error) or rejects the send, once; later calls do nothing. */
export function settle(send: SettleableSend, error?: unknown): void {
  if (send.settled) return;
  send.settled = true;
  send.detach();
  if (error === undefined) send.resolve();
  else send.reject(error);
}

/** The rejection of a send whose connection could not be made or dropped before the acknowledgement. */
export function disconnected(message: string, cause?: unknown): OrbitfedError {
  return new OrbitfedError('ORBITFED_CL_DISCONNECTED', message, {}, cause === undefined ? undefined : { cause });
}
