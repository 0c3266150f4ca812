// The link emulator's map file (`orbitfed link-emulator --map FILE`): which plan node sits where on
// the network, where the relay listens for traffic toward each node, how plan time runs, and the
// faults to inject. Declared once as a TypeBox schema (`LinkMapSchema`), documented in README.md.
//
// Decisions worth knowing:
// - A directed link is named by its receiving node's `listen` entry: `{ from: 2, address }` under
//   node 1 means "node 2 reaches node 1 through `address`". The relay cannot tell senders apart by
//   anything else (one listener per destination would not say which contact applies), so every
//   sending node gets its own listen address.
// - The file is JSON. The `yaml` library already sits behind contact-plans/stations-file.ts and may
//   have only one importer (test/tidy.test.ts); YAML map files need a shared YAML reader in common/.
// - Problems are collected and thrown as one `ORBITFED_LINK_MAP_INVALID`, each with its path
//   (`nodes[1].listen[0].address`), so a file is fixed in one round.
// - Times of flaps are plan seconds, like the contact plan's own times: they move with the plan
//   when it is scaled or re-anchored.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { OrbitfedError, formatLocated, parseYamlTree, readBoundedTextFile, type ErrorLocation } from '../common/index.ts';
import { formatHostPort, parseHostPort, type HostPort } from '../dtn/tcp-connection.ts';

/** Larger map files are refused before they are read (`ORBITFED_LINK_MAP_TOO_LARGE`). */
export const LINK_MAP_BYTES_MAX = 1024 * 1024;
/** Directed links one emulator relays at most (each holds a listening socket). */
export const LINKS_MAX = 4096;
/** Outage intervals one flap entry expands to at most. */
export const FLAP_REPEATS_MAX = 100_000;
/** Flap entries in a file at most. */
export const FLAPS_MAX = 10_000;
/** Largest time scale: 1 plan day in under 9 wall seconds. */
export const TIME_SCALE_MAX = 10_000;
const PROBLEMS_SHOWN_MAX = 20;
const DAY_SEC = 86_400;
const YEAR_SEC = 366 * DAY_SEC;

const NodeNumber = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
const Address = (description: string) => Type.String({ minLength: 3, maxLength: 300, description });

const ListenSchema = Type.Object(
  {
    from: NodeNumber('The sending node (plan ipn) whose traffic toward this node arrives here.'),
    address: Address('host:port the relay listens on for that traffic (port 0 picks a free port once, at start).'),
  },
  { additionalProperties: false },
);

const NodeSchema = Type.Object(
  {
    ipn: NodeNumber('The node, as the contact plan numbers it.'),
    target: Address('host:port where the real node listens (flight computer, ground agent, DTN daemon).'),
    listen: Type.Array(ListenSchema, { maxItems: LINKS_MAX, description: 'One relay address per sending node.' }),
  },
  { additionalProperties: false },
);

const FlapSchema = Type.Object(
  {
    from: Type.Optional(NodeNumber('Sending node of the link; with `to`. Both absent: every link.')),
    to: Type.Optional(NodeNumber('Receiving node of the link; with `from`.')),
    startSec: Type.Number({ minimum: -100 * YEAR_SEC, maximum: 100 * YEAR_SEC, description: 'Plan second the first outage starts.' }),
    downSec: Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SEC, description: 'Length of each outage, plan seconds.' }),
    everySec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SEC, description: 'Period of repeated outages, plan seconds; must exceed downSec.' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: FLAP_REPEATS_MAX, description: 'Outages in all (default 1; with everySec).' })),
  },
  { additionalProperties: false },
);

export const LinkMapSchema = Type.Object(
  {
    timeScale: Type.Optional(Type.Number({ minimum: 1, maximum: TIME_SCALE_MAX, description: 'Plan time runs this many times faster than the clock (default 1, real time).' })),
    planEpoch: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: '"start" (plan second `startAtPlanSec` is when the emulator starts) or an ISO 8601 UTC instant for plan second 0. Default: the plan\'s own epoch.' })),
    startAtPlanSec: Type.Optional(Type.Number({ minimum: -100 * YEAR_SEC, maximum: 100 * YEAR_SEC, description: 'With planEpoch "start": the plan second at start (default 0).' })),
    scaleDelaysAndRates: Type.Optional(Type.Boolean({ description: 'Also divide light times and multiply rates by timeScale, keeping each contact\'s volume (default false: only the schedule is compressed).' })),
    jitterMs: Type.Optional(Type.Number({ minimum: 0, maximum: 60_000, description: 'Each frame is delayed by a further uniform [0, jitterMs) ms (default 0).' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'Seed of jitter and random drops (default 1).' })),
    queueBytesMax: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1024 ** 3, description: 'Bytes waiting to be transmitted per direction of a connection before the sender is paused (default 1 MiB).' })),
    inFlightBytesMax: Type.Optional(Type.Integer({ minimum: 1024, maximum: 4 * 1024 ** 3, description: 'Bytes in flight (sent, not yet delivered) per direction of a connection; the transmitter waits beyond it (default 64 MiB).' })),
    connectionsPerLinkMax: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Open connections per link; more are closed at once (default 64).' })),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'Time to connect to a target before the incoming connection is reset (default 5000).' })),
    nodes: Type.Array(NodeSchema, { minItems: 1, maxItems: LINKS_MAX }),
    flaps: Type.Optional(Type.Array(FlapSchema, { maxItems: FLAPS_MAX, description: 'Scheduled outages (one-off or periodic).' })),
    drops: Type.Optional(Type.Object(
      {
        probabilityPerContact: Type.Number({ minimum: 0, maximum: 1, description: 'Chance that a contact window of a link is broken once.' }),
        downSec: Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SEC, description: 'Length of each drop, plan seconds.' }),
      },
      { additionalProperties: false, description: 'Random mid-contact drops, drawn from `seed`.' },
    )),
    control: Type.Optional(Type.Object(
      { listen: Address('host:port of the control API and /metrics (keep it on a loopback or lab address).') },
      { additionalProperties: false },
    )),
    metrics: Type.Optional(Type.Object(
      { processMetrics: Type.Boolean({ description: 'Add Node process metrics (CPU, memory, event-loop lag) to /metrics (default true).' }) },
      { additionalProperties: false },
    )),
  },
  { additionalProperties: false },
);

export type LinkMapJson = Static<typeof LinkMapSchema>;

/** One directed link: traffic from `from` to `to` enters at `listen` and is relayed to `target`. */
export interface MappedLink {
  readonly from: number;
  readonly to: number;
  readonly listen: HostPort;
  readonly target: HostPort;
}

/** A scheduled outage of one link, or of every link (`from`/`to` undefined), in plan seconds. */
export interface MappedFlap {
  readonly from: number | undefined;
  readonly to: number | undefined;
  readonly startSec: number;
  readonly downSec: number;
  readonly everySec: number;
  readonly count: number;
}

/** Where plan second 0 is: the plan's own epoch, an instant, or the emulator's start. */
export type PlanEpochChoice = { readonly kind: 'plan' } | { readonly kind: 'start'; readonly startAtPlanSec: number } | { readonly kind: 'instant'; readonly epochMs: number };

/** A validated map file, with every default filled in. */
export interface LinkMap {
  readonly timeScale: number;
  readonly planEpoch: PlanEpochChoice;
  readonly scaleDelaysAndRates: boolean;
  readonly jitterMs: number;
  readonly seed: number;
  readonly queueBytesMax: number;
  readonly inFlightBytesMax: number;
  readonly connectionsPerLinkMax: number;
  readonly connectTimeoutMs: number;
  readonly links: readonly MappedLink[];
  readonly flaps: readonly MappedFlap[];
  readonly drops: { readonly probabilityPerContact: number; readonly downSec: number } | undefined;
  readonly control: { readonly listen: HostPort } | undefined;
  readonly processMetrics: boolean;
}

export const LINK_MAP_DEFAULTS = {
  timeScale: 1,
  scaleDelaysAndRates: false,
  jitterMs: 0,
  seed: 1,
  queueBytesMax: 1024 * 1024,
  inFlightBytesMax: 64 * 1024 * 1024,
  connectionsPerLinkMax: 64,
  connectTimeoutMs: 5000,
} as const;

const mapChecker = TypeCompiler.Compile(LinkMapSchema);

interface Problem {
  readonly field: string | undefined;
  readonly message: string;
}

/** Reads and validates a map file (UTF-8 JSON, at most LINK_MAP_BYTES_MAX bytes). */
export async function loadLinkMapFile(path: string, signal?: AbortSignal): Promise<LinkMap> {
  const text = await readBoundedTextFile(path, {
    what: 'link map', maxBytes: LINK_MAP_BYTES_MAX, readCode: 'ORBITFED_LINK_MAP_READ', tooLargeCode: 'ORBITFED_LINK_MAP_TOO_LARGE',
    invalidTextCode: 'ORBITFED_LINK_MAP_INVALID', signal,
  });
  return parseLinkMapText(text, path);
}

/** Parses and validates map text; `file` names it in errors. */
export function parseLinkMapText(text: string, file: string): LinkMap {
  if (text.length > LINK_MAP_BYTES_MAX) {
    throw new OrbitfedError('ORBITFED_LINK_MAP_TOO_LARGE', `link map is ${text.length} characters; at most ${LINK_MAP_BYTES_MAX} are read`, { file });
  }
  return linkMapFromValue(file.toLowerCase().endsWith('.json') ? parseJsonText(text, file) : parseYamlText(text, file), file);
}

/** YAML (any name but `.json`), through common's one YAML reader; syntax errors name their line. */
function parseYamlText(text: string, file: string): unknown {
  const tree = parseYamlTree(text);
  const first = tree.errors[0];
  if (first !== undefined) throw new OrbitfedError('ORBITFED_LINK_MAP_INVALID', `not valid YAML: ${first.message.split('\n')[0]}`, { file, line: first.line });
  return tree.toJS();
}

/** Validates an already parsed document (from JSON, or any reader producing plain data). */
export function linkMapFromValue(value: unknown, file: string): LinkMap {
  const problems: Problem[] = [];
  if (!mapChecker.Check(value)) {
    const seen = new Set<string>();
    for (const error of mapChecker.Errors(value)) {
      const field = fieldOfPointer(error.path);
      const key = `${field ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const got = error.value === undefined ? 'missing' : `got ${describeValue(error.value)}`;
      problems.push({ field, message: `${error.message} (${got})` });
    }
    throw invalidMap(file, problems);
  }
  const map = value;
  const links = mappedLinks(map, problems);
  const flaps = mappedFlaps(map, links, problems);
  const planEpoch = planEpochOf(map, problems);
  const controlListen = map.control === undefined ? undefined : addressOf(map.control.listen, 'control.listen', problems);
  if (problems.length > 0) throw invalidMap(file, problems);
  return {
    timeScale: map.timeScale ?? LINK_MAP_DEFAULTS.timeScale,
    planEpoch,
    scaleDelaysAndRates: map.scaleDelaysAndRates ?? LINK_MAP_DEFAULTS.scaleDelaysAndRates,
    jitterMs: map.jitterMs ?? LINK_MAP_DEFAULTS.jitterMs,
    seed: map.seed ?? LINK_MAP_DEFAULTS.seed,
    queueBytesMax: map.queueBytesMax ?? LINK_MAP_DEFAULTS.queueBytesMax,
    inFlightBytesMax: map.inFlightBytesMax ?? LINK_MAP_DEFAULTS.inFlightBytesMax,
    connectionsPerLinkMax: map.connectionsPerLinkMax ?? LINK_MAP_DEFAULTS.connectionsPerLinkMax,
    connectTimeoutMs: map.connectTimeoutMs ?? LINK_MAP_DEFAULTS.connectTimeoutMs,
    links,
    flaps,
    drops: map.drops === undefined ? undefined : { ...map.drops },
    control: controlListen === undefined ? undefined : Object.freeze({ listen: controlListen }),
    processMetrics: map.metrics?.processMetrics ?? true,
  };
}

function mappedLinks(map: LinkMapJson, problems: Problem[]): MappedLink[] {
  const links: MappedLink[] = [];
  const nodeIndex = new Map<number, number>();
  const linkAt = new Map<string, string>();
  const addressAt = new Map<string, string>();
  map.nodes.forEach((node, n) => {
    const first = nodeIndex.get(node.ipn);
    if (first !== undefined) problems.push({ field: `nodes[${n}].ipn`, message: `node ${node.ipn} is listed twice (first at nodes[${first}])` });
    nodeIndex.set(node.ipn, n);
    const target = addressOf(node.target, `nodes[${n}].target`, problems);
    if (target?.port === 0) problems.push({ field: `nodes[${n}].target`, message: 'a target needs a real port, not 0' });
    node.listen.forEach((entry, l) => {
      const field = `nodes[${n}].listen[${l}]`;
      if (entry.from === node.ipn) problems.push({ field: `${field}.from`, message: `a link joins two different nodes (from is node ${node.ipn} itself)` });
      const pair = `${entry.from}→${node.ipn}`;
      const earlier = linkAt.get(pair);
      if (earlier !== undefined) problems.push({ field: `${field}.from`, message: `link ${pair} is mapped twice (first at ${earlier})` });
      linkAt.set(pair, field);
      const listen = addressOf(entry.address, `${field}.address`, problems);
      if (listen === undefined || target === undefined) return;
      const key = formatHostPort(listen);
      const clash = addressAt.get(key);
      if (listen.port !== 0 && clash !== undefined) problems.push({ field: `${field}.address`, message: `${key} is already the listen address of ${clash}` });
      addressAt.set(key, field);
      links.push(Object.freeze({ from: entry.from, to: node.ipn, listen, target }));
    });
  });
  if (links.length === 0 && problems.length === 0) problems.push({ field: 'nodes', message: 'no links: give at least one node a listen entry ({ "from": <sending node>, "address": "host:port" })' });
  if (links.length > LINKS_MAX) problems.push({ field: 'nodes', message: `${links.length} links; at most ${LINKS_MAX}` });
  return links;
}

function mappedFlaps(map: LinkMapJson, links: readonly MappedLink[], problems: Problem[]): MappedFlap[] {
  return (map.flaps ?? []).map((flap, i) => {
    const field = `flaps[${i}]`;
    if ((flap.from === undefined) !== (flap.to === undefined)) {
      problems.push({ field, message: 'give both from and to (one link), or neither (every link)' });
    } else if (flap.from !== undefined && !links.some((l) => l.from === flap.from && l.to === flap.to)) {
      problems.push({ field, message: `no link ${flap.from}→${flap.to} is mapped (a link is a listen entry { "from": ${flap.from} } under node ${flap.to})` });
    }
    if (flap.count !== undefined && flap.count > 1 && flap.everySec === undefined) problems.push({ field: `${field}.everySec`, message: 'repeated outages (count > 1) need everySec' });
    if (flap.everySec !== undefined && !(flap.everySec > flap.downSec)) problems.push({ field: `${field}.everySec`, message: `must exceed downSec (${flap.downSec}), or the outages merge into one` });
    return Object.freeze({
      from: flap.from,
      to: flap.to,
      startSec: flap.startSec,
      downSec: flap.downSec,
      everySec: flap.everySec ?? flap.downSec,
      count: flap.count ?? 1,
    });
  });
}

function planEpochOf(map: LinkMapJson, problems: Problem[]): PlanEpochChoice {
  if (map.planEpoch === undefined || map.planEpoch === 'start') {
    if (map.planEpoch === undefined && map.startAtPlanSec !== undefined) {
      problems.push({ field: 'startAtPlanSec', message: 'only with "planEpoch": "start" (with an absolute epoch, the plan second at start follows from the clock)' });
    }
    return map.planEpoch === undefined ? { kind: 'plan' } : { kind: 'start', startAtPlanSec: map.startAtPlanSec ?? 0 };
  }
  if (map.startAtPlanSec !== undefined) problems.push({ field: 'startAtPlanSec', message: 'only with "planEpoch": "start"' });
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(map.planEpoch);
  const epochMs = withZone ? Date.parse(map.planEpoch) : Number.NaN;
  if (!Number.isFinite(epochMs)) {
    problems.push({ field: 'planEpoch', message: `must be "start" or an ISO 8601 instant with a zone, such as 2026-06-14T00:00:00Z (got ${JSON.stringify(map.planEpoch)})` });
    return { kind: 'plan' };
  }
  return { kind: 'instant', epochMs };
}

/** The parsed address, or undefined with a problem recorded. */
function addressOf(text: string, field: string, problems: Problem[]): HostPort | undefined {
  try {
    return Object.freeze(parseHostPort(text));
  } catch (error) {
    problems.push({ field, message: (error as Error).message });
    return undefined;
  }
}

/** `JSON.parse` with the line where it stopped (V8 names it: "… (line 3 column 7)"). */
function parseJsonText(text: string, file: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new OrbitfedError('ORBITFED_LINK_MAP_INVALID', 'the map file is empty; expected a JSON object with "nodes"', { file });
  try {
    return JSON.parse(body);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!;
    const v8 = /\(line (\d+) column \d+\)/.exec(reason);
    const line = v8 !== null ? Number(v8[1]) : /end of JSON input/.test(reason) ? body.trimEnd().split(/\r\n|\r|\n/).length : undefined;
    const hint = /^\s*[A-Za-z_-]+\s*:/m.test(body) && !body.trimStart().startsWith('{') ? ' (this looks like YAML: name the file .yaml)' : '';
    throw new OrbitfedError('ORBITFED_LINK_MAP_INVALID', `not valid JSON: ${reason}${hint}`, { file, line }, { cause: error });
  }
}

/** `/nodes/1/listen/0/address` → `nodes[1].listen[0].address`. */
function fieldOfPointer(pointer: string): string | undefined {
  let text = '';
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(key)) text += `[${key}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text === '' ? undefined : text;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function invalidMap(file: string, problems: readonly Problem[]): OrbitfedError {
  const [first, ...rest] = problems;
  const location = (p: Problem): ErrorLocation => ({ file, field: p.field });
  const shown = rest.slice(0, PROBLEMS_SHOWN_MAX - 1);
  const lines = [first!.message, ...shown.map((p) => formatLocated(p.message, location(p)))];
  if (rest.length > shown.length) lines.push(`… and ${rest.length - shown.length} more problems`);
  return new OrbitfedError('ORBITFED_LINK_MAP_INVALID', lines.join('\n'), location(first!));
}
