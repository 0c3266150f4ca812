// `orbitfed orbital-agent --config FILE` runs the orbital agent of one satellite until SIGINT or
// SIGTERM (orbital/README.md describes the configuration). The wiring is orbital/orbital-service.ts.
import { OrbitalService } from '../orbital/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed orbital-agent --config FILE

Runs the orbital agent of one satellite's flight computer: the DTN bundle agent (durable store,
contact-plan routing, TCPCLv4 and/or MTCP to the ground stations), signed job assignments from the
scheduler run on the process runtime (or Docker), reports, results and signed usage receipts sent
back store-and-forward, housekeeping telemetry, and contact plan updates applied as they arrive.
Runs until SIGINT or SIGTERM; on a graceful stop running jobs are cancelled and reported. Logs are
JSON lines on standard error; /metrics is served when metricsPort is set.

  --config FILE   the agent's configuration (YAML or JSON; see orbital/README.md for every option,
                  samples/orbital-agent/ for an example)

Exit status: 0 after a clean stop, 2 on a usage or configuration error.`;

async function runOrbitalAgent(context: CommandContext): Promise<number> {
  const v = parseCommandArgs('orbital-agent', context.args, { config: { type: 'string' } });
  if (v.config === undefined) throw usageError('--config FILE is required (see orbitfed orbital-agent --help)');
  const stop = stopSignal(context);
  const service = new OrbitalService({ configPath: v.config, clock: context.clock });
  try {
    await service.start();
    const endpoints = service.endpoints();
    context.stderr.write(`orbital agent running; links ${endpoints.links.join(', ') || 'outbound only'}; metrics ${endpoints.metrics ?? 'off'}\n`);
    await stop.stopped();
  } finally {
    stop.dispose();
    await service.stop();
  }
  return 0;
}

export const orbitalAgentCommand: Command = {
  name: 'orbital-agent',
  summary: 'run the orbital agent of a satellite (bundles, jobs, receipts, telemetry)',
  help: HELP,
  async run(context) {
    const first = context.args[0];
    if (first === '--help' || first === '-h') {
      context.stdout.write(`${HELP}\n`);
      return 0;
    }
    return runOrbitalAgent(context);
  },
};
