// `orbitfed scheduler --config FILE`: serves the scheduler's REST API (scheduler/scheduler-service.ts
// wires it); `orbitfed scheduler keygen`: a new tenant API key and the digest for the config.
import { createLogger } from '../common/index.ts';
import { apiKeySha256, createSchedulerService, loadSchedulerConfig, newApiKey } from '../scheduler/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed scheduler --config FILE
       orbitfed scheduler keygen

Runs the scheduler: tenants submit jobs over HTTP; the scheduler places them on the contact plan
(where the input can reach a node, when it can run, when its result can reach an allowed ground
station), holds the price in escrow on the ledger and tracks each job through its states.

  --config FILE   the configuration (YAML or JSON; samples/scheduler.yaml documents every
                  option). Secrets are not given on the command line: tenants' API keys come
                  as digests, or from files or environment variables named in the file.

Serves, on the configured address:
  /v1/jobs, /v1/jobs/{id}[/events|/result], /v1/placements:dry-run, /v1/nodes,
  /v1/contacts, /v1/passes   authenticated: Authorization: Bearer <API key>, or signed requests
  /docs                      Swagger UI (and /docs/json, the OpenAPI 3.1 document)
  /healthz, /metrics         health and Prometheus metrics
Logs are JSON lines on standard error. Stops on Ctrl-C or SIGTERM, letting requests finish.
SIGHUP reads the contact plan file again and re-plans the jobs that depended on the old plan.

keygen   Prints a new API key and its SHA-256 as JSON: give the key to the tenant, put the digest
         in the configuration (tenants[].apiKeySha256).

Exit status: 0 after a clean stop, 2 on a usage or configuration error.`;

async function runScheduler(context: CommandContext): Promise<number> {
  const [first] = context.args;
  if (first === '--help' || first === '-h') {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (first === 'keygen') {
    parseCommandArgs('scheduler keygen', context.args.slice(1), {});
    const apiKey = newApiKey();
    context.stdout.write(`${JSON.stringify({ apiKey, apiKeySha256: apiKeySha256(apiKey) })}\n`);
    return 0;
  }
  const v = parseCommandArgs('scheduler', context.args, { config: { type: 'string' } });
  if (v.config === undefined) throw usageError('--config FILE is required (see orbitfed scheduler --help)', 'config');
  const config = await loadSchedulerConfig(v.config);
  const logger = createLogger({ level: config.file.log?.level ?? 'info', base: { process: 'scheduler' } });
  const service = await createSchedulerService({ config, clock: context.clock, logger });
  const stopped = new AbortController();
  const stop = (): void => stopped.abort();
  context.signal?.addEventListener('abort', stop, { once: true });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const reload = (): void => {
    service.reloadPlan().then(
      () => context.stderr.write(`orbitfed scheduler: contact plan reloaded (${service.plan.hash.slice(0, 12)})\n`),
      (error: unknown) => context.stderr.write(`orbitfed scheduler: the contact plan was not reloaded: ${(error as Error).message}\n`),
    );
  };
  process.on('SIGHUP', reload);
  try {
    const address = await service.start();
    context.stderr.write(`orbitfed scheduler: listening on ${address} (API docs at ${address}/docs)\n`);
    if (!stopped.signal.aborted) await new Promise((resolve) => stopped.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    context.signal?.removeEventListener('abort', stop);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    process.removeListener('SIGHUP', reload);
    await service.stop();
  }
  context.stderr.write('orbitfed scheduler: stopped\n');
  return 0;
}

export const schedulerCommand: Command = { name: 'scheduler', summary: 'serve the scheduler REST API (jobs, placements, nodes)', help: HELP, run: runScheduler };
