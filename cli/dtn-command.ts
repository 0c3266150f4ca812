// `orbitfed dtn listen|send`: speaks the standard DTN convergence layers (TCPCLv4, TCPCLv3, MTCP)
// with other nodes (ION, HDTN, µD3TN, dtn7), for operators and for interoperability checks.
import { OrbitfedError, readBoundedFile, type Clock, type DurationMs } from '../common/index.ts';
import {
  CRC_16_X25,
  CRC_32C,
  decodeBundle,
  dtnTimeFromUnixMs,
  encodeBundle,
  formatEid,
  formatHostPort,
  makeBundle,
  MtcpConvergenceLayer,
  parseEid,
  parseHostPort,
  TcpclV3ConvergenceLayer,
  TcpclV4ConvergenceLayer,
  unixMsFromDtnTime,
  type BundleHandler,
  type ClLog,
  type ConvergenceLayer,
  type Eid,
  type HostPort,
} from '../dtn/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseChoice, parseNumberInRange } from './flag-values.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';

const CLAS = ['tcpclv4', 'tcpclv3', 'mtcp'] as const;
type Cla = (typeof CLAS)[number];
const PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;
/** Payload bytes printed per bundle; longer payloads are cut (and say so). */
const PAYLOAD_PRINT_BYTES_MAX = 64 * 1024;
const COUNT_MAX = 1_000_000_000;
const LIFETIME_SEC_MAX = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

const HELP = `Usage: orbitfed dtn listen --cla CLA:HOST:PORT --eid EID [--count N] [--verbose]
       orbitfed dtn send --cla CLA:HOST:PORT --src EID --dst EID --payload TEXT|@FILE
                         [--lifetime S] [--crc 16|32] [--timeout S] [--verbose]

Exchanges BPv7 bundles with other DTN nodes (NASA ION, HDTN, µD3TN, dtn7) over a standard
convergence layer. CLA is one of:
  tcpclv4   RFC 9174 (HDTN, dtn7-rs); every bundle is acknowledged by the peer
  tcpclv3   RFC 7242 (ION, µD3TN, HDTN); acknowledged when both sides ask for it
  mtcp      draft-ietf-dtn-mtcpcl (µD3TN, dtn7); no acknowledgement at all
EIDs are ipn:NODE.SERVICE or dtn://NODE/SERVICE; the node ID the convergence layer announces
is the EID's node (ipn:NODE.0 or dtn://NODE/).

listen   Accepts sessions on HOST:PORT (0 picks a free port; the address is printed on
         standard error) and prints each bundle received as one JSON line:
           {"source":"ipn:1.1","destination":"ipn:2.1","created":"2026-06-14T00:00:00.000Z",
            "sequence":"0","lifetimeMs":86400000,"payloadBytes":5,"payload":"hello",
            "payloadEncoding":"utf8","from":"ipn:1.0"}
         The payload is printed as UTF-8 when it is valid UTF-8, else as hex. Bytes that are not
         a valid BPv7 bundle are refused and reported on standard error. Stops after N bundles
         (--count) or on Ctrl-C.
  --cla CLA:HOST:PORT   where to listen, e.g. tcpclv4:0.0.0.0:4556
  --eid EID             this node's endpoint ID
  --count N             stop after N bundles (default: run until interrupted)

send     Builds one bundle (created now, sequence 0), opens a session and sends it. Exits 0
         once the peer acknowledged it; over MTCP, and over TCPCLv3 with a peer that asks for
         no acknowledgements, once it was written to the connection (which is no proof of
         delivery). Prints {"cla":…,"peer":…,"source":…,"destination":…,"bundleBytes":…}.
  --cla CLA:HOST:PORT   the peer, e.g. tcpclv3:10.0.0.2:4556
  --src EID, --dst EID  source and destination endpoint IDs
  --payload TEXT|@FILE  the payload: the text itself, or @ and a file to read (at most 16 MiB)
  --lifetime S          bundle lifetime in seconds (default: 86400)
  --crc 16|32           CRC-16/X.25 or CRC-32C on the primary and payload blocks (default: 32)
  --timeout S           give up after S seconds (default: 30)

Common:
  --verbose             print the convergence layer's log events on standard error
  -h, --help            show this help

Exit status: 0 on success, 1 when the bundle could not be delivered or the listener failed,
2 on a usage error.`;

interface ClaAddress {
  readonly cla: Cla;
  readonly hostPort: HostPort;
}

function parseClaAddress(value: string): ClaAddress {
  const colon = value.indexOf(':');
  if (colon < 0) throw usageError(`--cla must be CLA:HOST:PORT, e.g. tcpclv4:127.0.0.1:4556 (got '${value}')`, 'cla');
  const cla = parseChoice('cla', value.slice(0, colon), CLAS);
  try {
    return { cla, hostPort: parseHostPort(value.slice(colon + 1)) };
  } catch (error) {
    throw usageError(`--cla: ${(error as Error).message}`, 'cla');
  }
}

/** The node ID a convergence layer announces for an endpoint: its node's administrative endpoint. */
function nodeIdOf(eid: Eid): string {
  if (eid.kind === 'ipn') return `ipn:${eid.nodeNumber}.0`;
  if (eid.kind === 'dtn') return `dtn://${eid.nodeName}/`;
  throw usageError('the endpoint ID must name a node (dtn:none does not)', 'eid');
}

function parseEidFlag(flag: string, value: string): Eid {
  try {
    return parseEid(value);
  } catch (error) {
    throw usageError(`--${flag}: ${(error as Error).message}`, flag);
  }
}

function makeConvergenceLayer(cla: Cla, nodeId: string, clock: Clock, log: ClLog, listen?: HostPort): ConvergenceLayer & { readonly listenAddress: HostPort | undefined } {
  const where = listen === undefined ? {} : { listen };
  switch (cla) {
    case 'tcpclv4':
      return new TcpclV4ConvergenceLayer({ nodeId, clock, log, ...where });
    case 'tcpclv3':
      return new TcpclV3ConvergenceLayer({ localEid: nodeId, clock, log, ...where });
    case 'mtcp':
      return new MtcpConvergenceLayer({ clock, log, ...where });
  }
}

function logTo(context: CommandContext, verbose: boolean): ClLog {
  if (!verbose) return () => {};
  return (event, fields) => context.stderr.write(`${JSON.stringify({ event, ...fields }, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}\n`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One received bundle as the JSON line `listen` prints. */
function bundleRecord(bytes: Uint8Array, from: string | undefined): Record<string, unknown> {
  const { primary, payload } = decodeBundle(bytes);
  const createdMs = unixMsFromDtnTime(primary.creation.dtnTimeMs);
  const shown = payload.data.subarray(0, PAYLOAD_PRINT_BYTES_MAX);
  let text: string | undefined;
  try {
    text = utf8.decode(shown);
  } catch {
    text = undefined;
  }
  return {
    source: formatEid(primary.source),
    destination: formatEid(primary.destination),
    created: createdMs === undefined ? null : new Date(createdMs).toISOString(),
    sequence: String(primary.creation.sequence),
    lifetimeMs: primary.lifetimeMs,
    payloadBytes: payload.data.byteLength,
    payload: text ?? Buffer.from(shown).toString('hex'),
    payloadEncoding: text === undefined ? 'hex' : 'utf8',
    ...(shown.byteLength < payload.data.byteLength ? { payloadTruncated: true } : {}),
    ...(from === undefined ? {} : { from }),
  };
}

async function runListen(context: CommandContext, args: readonly string[]): Promise<number> {
  const v = parseCommandArgs('dtn listen', args, { cla: { type: 'string' }, eid: { type: 'string' }, count: { type: 'string' }, verbose: { type: 'boolean' } });
  for (const flag of ['cla', 'eid'] as const) {
    if (v[flag] === undefined) throw usageError(`--${flag} is required (see orbitfed dtn --help)`, flag);
  }
  const { cla, hostPort } = parseClaAddress(v.cla!);
  const eid = parseEidFlag('eid', v.eid!);
  const nodeId = nodeIdOf(eid);
  const countMax = v.count === undefined ? undefined : Math.round(parseNumberInRange('count', v.count, 1, COUNT_MAX));
  const stop = stopSignal(context);
  let printed = 0;
  const handler: BundleHandler = async (bytes, from) => {
    if (countMax !== undefined && printed >= countMax) return { accepted: false, reason: 'this listener has printed all the bundles it was asked for' };
    let record: Record<string, unknown>;
    try {
      record = bundleRecord(bytes, from.peerId ?? from.remoteAddress);
    } catch (error) {
      const code = error instanceof OrbitfedError ? ` [${error.code}]` : '';
      context.stderr.write(`orbitfed dtn listen: refused ${bytes.byteLength} bytes from ${from.peerId ?? from.remoteAddress ?? 'a peer'}: ${(error as Error).message}${code}\n`);
      return { accepted: false, reason: (error as Error).message };
    }
    printed += 1;
    context.stdout.write(`${JSON.stringify(record)}\n`);
    if (countMax !== undefined && printed >= countMax) stop.abort();
    return { accepted: true };
  };
  const cl = makeConvergenceLayer(cla, nodeId, context.clock, logTo(context, v.verbose === true), hostPort);
  try {
    await cl.start(handler);
  } catch (error) {
    stop.dispose();
    if (error instanceof OrbitfedError) {
      context.stderr.write(`orbitfed dtn listen: ${error.message} [${error.code}]\n`);
      return 1;
    }
    throw error;
  }
  context.stderr.write(`listening on ${cla}:${formatHostPort(cl.listenAddress!)} as ${nodeId}\n`);
  try {
    if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    stop.dispose();
    await cl.stop();
  }
  return 0;
}

async function readPayload(value: string, signal: AbortSignal): Promise<Uint8Array> {
  if (!value.startsWith('@')) return new TextEncoder().encode(value);
  return readBoundedFile(value.slice(1), { what: 'payload file', maxBytes: PAYLOAD_BYTES_MAX, readCode: 'ORBITFED_CLI_PAYLOAD_READ', tooLargeCode: 'ORBITFED_CLI_PAYLOAD_TOO_LARGE', signal });
}

async function runSend(context: CommandContext, args: readonly string[]): Promise<number> {
  const v = parseCommandArgs('dtn send', args, {
    cla: { type: 'string' }, src: { type: 'string' }, dst: { type: 'string' }, payload: { type: 'string' },
    lifetime: { type: 'string' }, crc: { type: 'string' }, timeout: { type: 'string' }, verbose: { type: 'boolean' },
  });
  for (const flag of ['cla', 'src', 'dst', 'payload'] as const) {
    if (v[flag] === undefined) throw usageError(`--${flag} is required (see orbitfed dtn --help)`, flag);
  }
  const { cla, hostPort } = parseClaAddress(v.cla!);
  const source = parseEidFlag('src', v.src!);
  const destination = parseEidFlag('dst', v.dst!);
  const lifetimeSec = v.lifetime === undefined ? 86_400 : parseNumberInRange('lifetime', v.lifetime, 0.001, LIFETIME_SEC_MAX);
  const crcType = parseChoice('crc', v.crc ?? '32', ['16', '32'] as const) === '16' ? CRC_16_X25 : CRC_32C;
  const timeoutSec = v.timeout === undefined ? 30 : parseNumberInRange('timeout', v.timeout, 0.001, 86_400);
  const stop = stopSignal(context);
  const timer = context.clock.setTimer((timeoutSec * 1000) as DurationMs, stop.abort);
  try {
    const payload = await readPayload(v.payload!, stop.signal);
    const bundle = makeBundle({
      source,
      destination,
      creation: { dtnTimeMs: dtnTimeFromUnixMs(context.clock.now()), sequence: 0n },
      lifetimeMs: Math.round(lifetimeSec * 1000),
      payload,
      crcType,
      payloadCrcType: crcType,
    });
    const bytes = encodeBundle(bundle);
    // A peer may send bundles back on our session (TCPCLv4/v3 sessions carry both ways): they are reported, not kept.
    const handler: BundleHandler = async (received, from) => {
      context.stderr.write(`orbitfed dtn send: ${received.byteLength} bytes received from ${from.peerId ?? from.remoteAddress ?? 'the peer'} (not kept)\n`);
      return { accepted: true };
    };
    const cl = makeConvergenceLayer(cla, nodeIdOf(source), context.clock, logTo(context, v.verbose === true));
    await cl.start(handler);
    try {
      await cl.send({ cl: cla, address: formatHostPort(hostPort) }, bytes, { signal: stop.signal });
    } catch (error) {
      const why = stop.signal.aborted && !(error instanceof OrbitfedError) ? `no acknowledgement within ${timeoutSec} s, or interrupted` : (error as Error).message;
      const code = error instanceof OrbitfedError ? ` [${error.code}]` : '';
      context.stderr.write(`orbitfed dtn send: the bundle was not delivered to ${cla}:${formatHostPort(hostPort)}: ${why}${code}\n`);
      return 1;
    } finally {
      await cl.stop();
    }
    if (cla === 'mtcp') context.stderr.write('orbitfed dtn send: MTCP has no acknowledgement; the bundle was written to the connection, which does not prove delivery\n');
    context.stdout.write(`${JSON.stringify({ cla, peer: formatHostPort(hostPort), source: formatEid(source), destination: formatEid(destination), bundleBytes: bytes.byteLength })}\n`);
    return 0;
  } finally {
    timer.cancel();
    stop.dispose();
  }
}

async function runDtn(context: CommandContext): Promise<number> {
  const [subcommand, ...rest] = context.args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || rest.includes('--help') || rest.includes('-h')) {
    context.stdout.write(`${HELP}\n`);
    return subcommand === undefined ? 2 : 0;
  }
  if (subcommand === 'listen') return runListen(context, rest);
  if (subcommand === 'send') return runSend(context, rest);
  throw usageError(`unknown dtn subcommand '${subcommand}': use listen or send (see orbitfed dtn --help)`);
}

export const dtnCommand: Command = { name: 'dtn', summary: 'exchange bundles with DTN nodes over TCPCLv4, TCPCLv3 or MTCP', help: HELP, run: runDtn };
