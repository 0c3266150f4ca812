// The libp2p node of the terrestrial overlay (ARCHITECTURE: "Which link speaks what"): TCP,
// noise, yamux, and a connection gater that admits only federation keys. This is the only file
// that imports libp2p and its @libp2p/@chainsafe/@multiformats modules (STYLE rule 17); the rest
// of orbitfed sees the small `Libp2pNode` and `PeerStream` interfaces below, in our own types.
//
// Identity: a raw 32-byte ed25519 seed (the RFC 8032 private key), the format our identity files
// use, not libp2p's protobuf-wrapped private key. A protobuf key converts with
// `privateKeyFromProtobuf(bytes).raw.subarray(0, 32)` if one ever needs importing.
//
// Gating: the allowed list holds raw 32-byte ed25519 public keys; each becomes its peer id
// (identity multihash of the protobuf public key, `12D3KooW…`). Outbound, a dial is refused
// before any socket opens unless its address names an allowed peer (`…/p2p/<peer id>`); inbound,
// a connection is dropped right after the noise handshake proves a key that is not allowed.
// Both directions are checked again once the connection is upgraded, so a list replaced through
// `setAllowedPublicKeys` also closes connections it no longer admits.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
// Comes with libp2p (13.0.3 in the lockfile) but is not yet named in package.json: libp2p dials
// Multiaddr objects only, and exports no way to make one from text.
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Libp2p, Libp2pOptions } from 'libp2p';
import { OrbitfedError } from '../common/index.ts';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES } from './libp2p-constants.ts';

// The libp2p types we touch, derived from `Libp2p` so that no undeclared interface package is imported.
type Libp2pStream = Awaited<ReturnType<Libp2p['dialProtocol']>>;
type Libp2pStreamHandler = Parameters<Libp2p['handle']>[1];
type Libp2pConnection = Parameters<Libp2pStreamHandler>[1];
type Libp2pPeerId = Libp2p['peerId'];
type ConnectionGater = NonNullable<Libp2pOptions['connectionGater']>;
type Libp2pMultiaddr = ReturnType<typeof multiaddr>;


export interface Libp2pNodeOptions {
  /** Raw 32-byte ed25519 seed: this node's identity, hence its peer id. */
  readonly identitySeed: Uint8Array;
  /** Raw 32-byte ed25519 public keys of the peers this node may talk to, either direction. */
  readonly allowedPublicKeys: readonly Uint8Array[];
  /** Multiaddrs to listen on; default `/ip4/127.0.0.1/tcp/0` (loopback, a free port). `[]` dials only. */
  readonly listenAddresses?: readonly string[];
  /** Open connections at most (libp2p's connection manager prunes beyond it); default 64. */
  readonly connectionsMax?: number;
  /** Budget for opening one connection, all addresses included; default 10 000 ms. */
  readonly dialTimeoutMs?: number;
}

/** What the receiving side learns about a stream's origin, as the noise handshake authenticated it. */
export interface StreamOrigin {
  readonly peerId: string;
  readonly remoteAddress: string;
}

/** The callbacks of one stream; called in order, `closed` exactly once and last. */
export interface PeerStreamListener {
  /** Bytes from the peer, in order; `chunk` is only valid during the call unless copied or kept whole. */
  data(chunk: Uint8Array): void;
  /** The peer closed its writing end gracefully: no more data will come. */
  remoteWriteClosed(): void;
  /** The stream is over: `error` is undefined after a graceful close of both ends, set after a reset or a lost connection. */
  closed(error: Error | undefined): void;
}

/** One bidirectional byte stream to a peer (a yamux stream after protocol negotiation). */
export interface PeerStream {
  readonly origin: StreamOrigin;
  /** Registers the callbacks; call once, synchronously after receiving the stream. */
  listen(listener: PeerStreamListener): void;
  /**
   * Queues `bytes` for sending, by reference (not copied: leave them unchanged until sent). Does
   * not wait for the transport: the caller bounds what it queues. Throws once the stream no
   * longer accepts writes (closed for writing or reset).
   */
  write(bytes: Uint8Array): void;
  /** Closes this end for writing after everything queued was handed to the connection. */
  closeWrite(signal?: AbortSignal): Promise<void>;
  /** Drops both directions at once and tells the peer (yamux RST); queued bytes are discarded. */
  reset(reason: Error): void;
}

export interface HandleOptions {
  /** Streams of this protocol one peer may have open towards us at once; more are reset by libp2p. */
  readonly inboundStreamsMax: number;
  /** Streams of this protocol we open to one peer at once; libp2p refuses to open more. */
  readonly outboundStreamsMax: number;
}

export interface Libp2pNode {
  /** This node's peer id (`12D3KooW…`). */
  readonly peerId: string;
  /** This node's raw 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The addresses peers dial, each ending in `/p2p/<peer id>`; the real ports are known after `start()`. */
  addresses(): string[];
  /** The peer id an address names; throws `ORBITFED_LIBP2P_ADDRESS` when it is not a multiaddr ending in `/p2p/<peer id>`. */
  peerIdOf(address: string): string;
  /** Whether the gater admits this peer id. */
  isAllowed(peerId: string): boolean;
  /** Replaces the allowed keys and closes connections to peers no longer on the list. */
  setAllowedPublicKeys(publicKeys: readonly Uint8Array[]): Promise<void>;
  handle(protocol: string, onStream: (stream: PeerStream) => void, options: HandleOptions): Promise<void>;
  unhandle(protocol: string): Promise<void>;
  /**
   * Opens a stream speaking `protocol` to the peer at `address`, reusing an open connection.
   * Throws `OrbitfedError` `ORBITFED_LIBP2P_ADDRESS` (malformed address), `ORBITFED_LIBP2P_DENIED`
   * (the peer is not allowed), `ORBITFED_LIBP2P_UNREACHABLE` (no connection or no stream could be
   * opened: refused, timed out, closed, protocol unsupported), or the signal's reason on abort.
   */
  openStream(address: string, protocol: string, signal?: AbortSignal): Promise<PeerStream>;
  start(): Promise<void>;
  /** Closes every connection and the listeners; open streams end with an error. */
  stop(): Promise<void>;
}

/** The peer id (`12D3KooW…`) of a raw 32-byte ed25519 public key. */
export function libp2pPeerIdOf(publicKey: Uint8Array): string {
  return peerIdOfRawKey(publicKey, 'public key').toString();
}

/** Creates a libp2p node (not started) with our identity, transports and gater. */
export async function createLibp2pNode(options: Libp2pNodeOptions): Promise<Libp2pNode> {
  if (options.identitySeed.byteLength !== ED25519_SEED_BYTES) {
    throw new OrbitfedError('ORBITFED_LIBP2P_KEY', `an ed25519 identity seed is ${ED25519_SEED_BYTES} bytes, got ${options.identitySeed.byteLength}`, { field: 'identitySeed' });
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', options.identitySeed);
  const allowed = { peerIds: allowedPeerIds(options.allowedPublicKeys) };
  const libp2p = await createLibp2p({
    privateKey,
    start: false,
    addresses: { listen: [...(options.listenAddresses ?? ['/ip4/127.0.0.1/tcp/0'])] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: federationGater((peerId) => allowed.peerIds.has(peerId.toString())),
    connectionManager: {
      maxConnections: options.connectionsMax ?? 64,
      dialTimeout: options.dialTimeoutMs ?? 10_000,
    },
  });
  const publicKey = privateKey.publicKey.raw;

  return {
    peerId: libp2p.peerId.toString(),
    publicKey,
    addresses: () => libp2p.getMultiaddrs().map((ma) => withPeerId(ma, libp2p.peerId).toString()),
    peerIdOf: (address) => parseAddress(address).peerId.toString(),
    isAllowed: (peerId) => allowed.peerIds.has(peerId),
    async setAllowedPublicKeys(publicKeys) {
      allowed.peerIds = allowedPeerIds(publicKeys);
      const dropped = libp2p.getConnections().filter((c) => !allowed.peerIds.has(c.remotePeer.toString()));
      await Promise.all(dropped.map((c) => c.close().catch(() => c.abort(new Error('peer no longer allowed')))));
    },
    handle: (protocol, onStream, handleOptions) =>
      libp2p.handle(protocol, (stream, connection) => onStream(wrapStream(stream, connection)), {
        maxInboundStreams: handleOptions.inboundStreamsMax,
        maxOutboundStreams: handleOptions.outboundStreamsMax,
      }),
    unhandle: (protocol) => libp2p.unhandle(protocol),
    async openStream(address, protocol, signal) {
      const { ma, peerId } = parseAddress(address);
      if (!allowed.peerIds.has(peerId.toString())) {
        throw new OrbitfedError('ORBITFED_LIBP2P_DENIED', `${address}: peer ${peerId.toString()} is not in the allowed keys`);
      }
      // A peer that just went away can leave a connection that still reads as open until its close
      // is processed; libp2p reuses it and the stream fails. One fresh connection is then worth a try.
      for (let attempt = 1; ; attempt += 1) {
        let connection: Libp2pConnection | undefined;
        try {
          connection = await libp2p.dial(ma, { signal, force: attempt > 1 });
          return wrapStream(await connection.newStream(protocol, { signal }), connection);
        } catch (error) {
          if (attempt === 1 && connection !== undefined && connection.status !== 'open' && signal?.aborted !== true) continue;
          throw dialFailure(address, error, signal);
        }
      }
    },
    async start() {
      await libp2p.start();
    },
    async stop() {
      await libp2p.stop();
    },
  };
}

function peerIdOfRawKey(publicKey: Uint8Array, what: string): Libp2pPeerId {
  if (publicKey.byteLength !== ED25519_PUBLIC_KEY_BYTES) {
    throw new OrbitfedError('ORBITFED_LIBP2P_KEY', `an ed25519 ${what} is ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${publicKey.byteLength}`);
  }
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey));
}

function allowedPeerIds(publicKeys: readonly Uint8Array[]): ReadonlySet<string> {
  return new Set(publicKeys.map((key) => peerIdOfRawKey(key, 'allowed public key').toString()));
}

/** The gater: every check that names a peer asks `isAllowed`; addresses must name their peer. */
function federationGater(isAllowed: (peerId: Libp2pPeerId) => boolean): ConnectionGater {
  const deny = (peerId: Libp2pPeerId): boolean => !isAllowed(peerId);
  return {
    denyDialPeer: deny,
    denyDialMultiaddr: (ma) => {
      const peerId = peerIdComponent(ma);
      return peerId === undefined || !isAllowed(peerIdFromString(peerId));
    },
    denyOutboundConnection: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // We run no relay: refuse to serve as one or to be reached through one.
    denyInboundRelayReservation: () => true,
    denyOutboundRelayedConnection: () => true,
    denyInboundRelayedConnection: () => true,
    filterMultiaddrForPeer: (peerId) => isAllowed(peerId),
  };
}

function peerIdComponent(ma: Libp2pMultiaddr): string | undefined {
  return ma.getComponents().findLast((c) => c.name === 'p2p')?.value;
}

function withPeerId(ma: Libp2pMultiaddr, peerId: Libp2pPeerId): Libp2pMultiaddr {
  return peerIdComponent(ma) === undefined ? ma.encapsulate(`/p2p/${peerId.toString()}`) : ma;
}

function parseAddress(address: string): { ma: Libp2pMultiaddr; peerId: Libp2pPeerId } {
  let ma: Libp2pMultiaddr;
  let peerIdText: string | undefined;
  let peerId: Libp2pPeerId;
  try {
    ma = multiaddr(address);
    peerIdText = peerIdComponent(ma);
    if (peerIdText === undefined) throw new Error('no /p2p/<peer id> at the end');
    peerId = peerIdFromString(peerIdText);
  } catch (error) {
    throw new OrbitfedError('ORBITFED_LIBP2P_ADDRESS', `${address}: not a multiaddr of a peer (${(error as Error).message})`, {}, { cause: error });
  }
  return { ma, peerId };
}

function dialFailure(address: string, error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  const text = describeFailure(error);
  if (error instanceof Error && error.name === 'DialDeniedError') return new OrbitfedError('ORBITFED_LIBP2P_DENIED', `${address}: ${text}`, {}, { cause: error });
  return new OrbitfedError('ORBITFED_LIBP2P_UNREACHABLE', `${address}: ${text}`, {}, { cause: error });
}

/** libp2p rejects with errors, aggregate errors, and sometimes a stream's close event itself. */
function describeFailure(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(describeFailure).join('; ');
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (error instanceof Event) {
    const cause = (error as Event & { error?: unknown }).error;
    return cause === undefined ? `${error.type} event` : `${error.type} event: ${describeFailure(cause)}`;
  }
  return String(error);
}

function wrapStream(stream: Libp2pStream, connection: Libp2pConnection): PeerStream {
  const origin: StreamOrigin = { peerId: connection.remotePeer.toString(), remoteAddress: connection.remoteAddr.toString() };
  return {
    origin,
    listen(listener) {
      stream.addEventListener('message', (event) => {
        const data = event.data;
        if (data instanceof Uint8Array) listener.data(data);
        else for (const chunk of data) listener.data(chunk);
      });
      stream.addEventListener('remoteCloseWrite', () => listener.remoteWriteClosed());
      stream.addEventListener('close', (event) => listener.closed(event.error));
      // A stream can close between negotiation and this call; its 'close' event is then gone.
      if (stream.status !== 'open' && stream.status !== 'closing') queueMicrotask(() => listener.closed(new Error(`stream already ${stream.status}`)));
    },
    write(bytes) {
      stream.send(bytes);
    },
    closeWrite: (signal) => stream.close({ signal }),
    reset: (reason) => stream.abort(reason),
  };
}
