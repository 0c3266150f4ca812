// `orbitfed link-emulator --plan FILE --map FILE`: relays TCP between real nodes as the contact plan
// says (up or down, light time, rate, faults), with a control API and /metrics. Runs until
// SIGINT/SIGTERM. The program itself is wired in hil/link-emulator-service.ts.
import { createLogger, LOG_LEVELS, type LogLevel } from '../common/index.ts';
import { formatHostPort } from '../dtn/tcp-connection.ts';
import { loadLinkEmulatorService } from '../hil/link-emulator-entry.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseChoice } from './flag-values.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed link-emulator --plan FILE --map FILE [--log-level LEVEL]

Emulates the links of a contact plan between real nodes (flight computers, ground agents, DTN
daemons) with user-space TCP relays: for each directed link of the map the relay listens on the
link's address and forwards each connection to the receiving node's real address.
  - outside the link's contacts the address does not listen (connection refused), and open
    connections are reset when a contact ends;
  - bytes arrive one light time (OWLT, plus any jitter) after they were sent, each direction at
    its contact's rate (replies use the reverse contact, else the forward one);
  - scheduled flaps and random mid-contact drops from the map;
  - a control API (cut, restore, freeze, unfreeze, delay; GET /state) and Prometheus /metrics on
    the map's control address.

  --plan FILE        contact plan: orbitfed JSON, ION or HDTN (format detected)
  --map FILE         the map (JSON): nodes, listen and target addresses, time scale, faults;
                     see hil/README.md and samples/link-emulator/
  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default: info); JSON logs on standard error
  -h, --help         show this help

Runs until interrupted (Ctrl-C, SIGTERM). Exit status: 0 after a clean stop, 2 on a usage error
or a bad plan or map file (the message names the file and field).`;

/** Resolves when the context's signal, SIGINT or SIGTERM arrives. */
function untilStopped(context: CommandContext): { readonly stopped: Promise<string>; dispose: () => void } {
  let stop: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => { stop = resolve; });
  const onAbort = (): void => stop('aborted');
  const onSigint = (): void => stop('SIGINT');
  const onSigterm = (): void => stop('SIGTERM');
  if (context.signal?.aborted === true) stop('aborted');
  context.signal?.addEventListener('abort', onAbort, { once: true });
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  return {
    stopped,
    dispose: () => {
      context.signal?.removeEventListener('abort', onAbort);
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigterm);
    },
  };
}

async function runLinkEmulator(context: CommandContext): Promise<number> {
  if (context.args.includes('--help') || context.args.includes('-h')) {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const v = parseCommandArgs('link-emulator', context.args, { plan: { type: 'string' }, map: { type: 'string' }, 'log-level': { type: 'string' } });
  for (const flag of ['plan', 'map'] as const) {
    if (v[flag] === undefined) throw usageError(`--${flag} is required (see orbitfed link-emulator --help)`, flag);
  }
  const level: LogLevel = v['log-level'] === undefined ? 'info' : parseChoice('log-level', v['log-level'], LOG_LEVELS);
  const logger = createLogger({ level, base: { program: 'link-emulator' } });
  const until = untilStopped(context);
  try {
    const service = await loadLinkEmulatorService({ planPath: v.plan!, mapPath: v.map! }, context.clock, logger, context.signal);
    await service.start();
    const links = service.emulator.status().links.map((l) => `  ${l.from}→${l.to}  listen ${l.listen}  →  ${l.target}  (${l.up ? 'up' : l.availability})`);
    const control = service.controlAddress === undefined ? 'no control API (the map has no "control")' : `control API and /metrics on http://${formatHostPort(service.controlAddress)}`;
    context.stderr.write(`link emulator running, ${control}\n${links.join('\n')}\n`);
    const why = await until.stopped;
    logger.info({ signal: why }, 'stopping');
    await service.stop();
    return 0;
  } finally {
    until.dispose();
  }
}

export const linkEmulatorCommand: Command = {
  name: 'link-emulator',
  summary: 'relay TCP between real nodes as a contact plan says (HIL link emulation)',
  help: HELP,
  run: runLinkEmulator,
};
