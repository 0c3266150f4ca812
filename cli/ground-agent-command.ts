// `orbitfed ground-agent --config FILE`: runs a ground-station agent (ground/ground-agent-service.ts
// wires it).
import { createLogger } from '../common/index.ts';
import { GroundAgentService, loadGroundConfig } from '../ground/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed ground-agent --config FILE

Runs a ground station of the federation: the bridge between the terrestrial overlay (libp2p: the
scheduler, other stations, gateways) and the satellites passing over it (TCPCLv4 or MTCP during
each pass of the contact plan; bundles are held in a durable store outside passes), pass events
and 1 Hz antenna tracking on MQTT (orbitfed/<station>/pass, /track, /status, /telemetry), operators'
blackout windows from MQTT (orbitfed/<station>/blackout) forwarded to the scheduler, signed usage
receipts submitted to the validators, and terrestrial jobs on the process or Docker runtime.

  --config FILE   the configuration (YAML or JSON; ground/README.md documents every option and
                  samples/ground-agent/ has a complete one). Secrets are not given on the command
                  line: the identity is a key file, API keys and passwords come from files or
                  environment variables named in the file.

Logs are JSON lines on standard error; /metrics and /healthz are served when metrics.port is set.
Stops on Ctrl-C or SIGTERM (the station's MQTT status becomes offline/stopped). SIGHUP reads the
contact plan file again and routes the stored bundles on it.

Exit status: 0 after a clean stop, 2 on a usage or configuration error.`;

async function runGroundAgent(context: CommandContext): Promise<number> {
  const [first] = context.args;
  if (first === '--help' || first === '-h') {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const v = parseCommandArgs('ground-agent', context.args, { config: { type: 'string' } });
  if (v.config === undefined) throw usageError('--config FILE is required (see orbitfed ground-agent --help)', 'config');
  const config = await loadGroundConfig(v.config);
  const logger = createLogger({ level: config.file.log?.level ?? 'info', base: { process: 'ground-agent', station: config.file.station.id } });
  const service = new GroundAgentService({ config, clock: context.clock, logger });
  const stop = stopSignal(context);
  const reload = (): void => {
    service.reloadPlan().then(
      (hash) => context.stderr.write(`orbitfed ground-agent: contact plan reloaded (${hash.slice(0, 12)})\n`),
      (error: unknown) => context.stderr.write(`orbitfed ground-agent: the contact plan was not reloaded: ${(error as Error).message}\n`),
    );
  };
  process.on('SIGHUP', reload);
  try {
    const endpoints = await service.start();
    context.stderr.write(`orbitfed ground-agent: ${config.file.station.id} running as ${endpoints.node}; libp2p ${endpoints.libp2p.join(' ')}; `
      + `tcpclv4 ${endpoints.tcpclv4 ?? 'off'}; mtcp ${endpoints.mtcp ?? 'off'}; mqtt ${endpoints.mqtt}; metrics ${endpoints.metrics ?? 'off'}\n`);
    await stop.stopped();
  } finally {
    process.removeListener('SIGHUP', reload);
    stop.dispose();
    await service.stop();
  }
  context.stderr.write('orbitfed ground-agent: stopped\n');
  return 0;
}

export const groundAgentCommand: Command = { name: 'ground-agent', summary: 'run a ground station: DTN bridge, MQTT, receipts, terrestrial jobs', help: HELP, run: runGroundAgent };
