// The port every convergence layer implements (STYLE: CLs behind one interface, as µD3TN does).
// A CL moves whole encoded bundles between two nodes; it knows nothing about routing or storage.
//
// The acknowledgement contract is what makes store-and-forward reliable (ARCHITECTURE: anything
// acknowledged to a peer is on disk first):
// - the receiving side acknowledges a bundle only after its `BundleHandler` resolved, and the
//   handler resolves only once the bundle is durably stored (or deliberately refused);
// - the sending side's `send()` resolves only after that acknowledgement arrived, and rejects when
//   the connection dropped or the peer refused, so the caller keeps the bundle and tries again.

/** Where a peer is reached, as configured: `libp2p:/ip4/127.0.0.1/tcp/4001/p2p/12D3…`, `tcpclv4:host:4556`, `mtcp:127.0.0.1:4224`. */
export interface PeerAddress {
  /** Which CL reaches this peer (`libp2p`, `tcpclv4`, `tcpclv3`, `mtcp`). */
  readonly cl: string;
  /** The CL-specific address (a multiaddr for libp2p, `host:port` for the TCP CLs). */
  readonly address: string;
}

/** What the receiving side knows about where a bundle came from. */
export interface ReceivedFrom {
  readonly cl: string;
  /** The peer's identity as the CL authenticated it (libp2p peer id, TCPCLv4 node id), when known. */
  readonly peerId?: string;
  readonly remoteAddress?: string;
}

/** The handler's verdict: `accepted` is acknowledged to the sender, `refused` is reported as a refusal. */
export type BundleVerdict = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

/**
 * Called once per received bundle; the CL acknowledges only after the returned promise resolves.
 * Calls may overlap and complete out of order (a CL pipelines bundles on a session), so a handler
 * must not assume one bundle at a time.
 */
export type BundleHandler = (bundle: Uint8Array, from: ReceivedFrom) => Promise<BundleVerdict>;

export interface SendOptions {
  readonly signal?: AbortSignal;
}

export interface ConvergenceLayer {
  /** `libp2p`, `tcpclv4`, `tcpclv3`, `mtcp`: the prefix of the peer addresses it serves. */
  readonly name: string;
  /** Starts listening (if configured to) and delivers received bundles to `handler`. */
  start(handler: BundleHandler): Promise<void>;
  /** Closes every session and the listener; bundles not yet acknowledged are not lost, only unsent. */
  stop(): Promise<void>;
  /**
   * Sends one encoded bundle and resolves when the peer acknowledged all of it. Opens a session to
   * the peer if none is open. Rejects with an `OrbitfedError` whose code says why: the peer refused
   * (`ORBITFED_CL_REFUSED`), the connection could not be made or dropped before the acknowledgement
   * (`ORBITFED_CL_DISCONNECTED`), the bundle is larger than the CL or peer accepts
   * (`ORBITFED_CL_TOO_LARGE`), the address is malformed or belongs to another CL
   * (`ORBITFED_CL_ADDRESS`), too many sends already wait for this peer (`ORBITFED_CL_BUSY`), or the
   * signal aborted. A rejection other than REFUSED may come after the peer stored the bundle (its
   * acknowledgement was lost): delivery is at least once, and the receiving store drops duplicates.
   * The CL may send `bundle` by reference: the caller must not modify it until the promise settles.
   */
  send(peer: PeerAddress, bundle: Uint8Array, options?: SendOptions): Promise<void>;
}
