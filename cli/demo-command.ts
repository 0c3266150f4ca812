// `orbitfed demo` (what `npm start` runs): a whole federation on this machine, from the bundled
// data (samples/demo/), on plan time running 60× faster. hil/demo-session.ts wires it; this file
// parses the flags and prints for people.
import { createLogger, durationMs, LOG_LEVELS, type LogLevel, type TimerHandle } from '../common/index.ts';
import { describeExit, DEMO_DOCKER_IMAGE_DEFAULT, DEMO_OPTIONS_DEFAULT, DemoSession, type DemoSummary, type JobChange, type ProcessExit, type SubmittedJob } from '../hil/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseChoice, parseNumberInRange } from './flag-values.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed demo [--dir DIR] [--time-scale N] [--jobs N] [--plan-hours H]
                    [--validators N] [--port P] [--mqtt-port P | --mqtt-url URL]
                    [--docker [--docker-image NAME]] [--duration-sec S] [--log-level LEVEL]

Runs a whole federation on this machine, with nothing to install: 4 validators settling on a
ledger, the scheduler's REST API (with its docs and the dashboard), an embedded MQTT broker, and
the agents of 6 ground stations at real sites and 8 real satellites (samples/demo/: ISS, Starlink,
OneWeb, two Sentinels, Landsat 9, NOAA 20, Fengyun 3D; element sets of 2026-06-13). It prints the
URLs to open, an API key, and a request to paste; then it runs until Ctrl-C.

Time: the element sets are from June 2026, so the federation's clock starts at this moment's UTC
time of day on 2026-06-14 and runs --time-scale times faster (every process reads that time: the
API, the ledger and the agents show June 2026 dates). At 60×, a 90-minute orbit takes 90 seconds
and the 24-hour contact plan lasts 24 minutes.

  --dir DIR          working directory (new or empty): plan, keys, configurations, each
                     process's data and logs/<process>.log. Default: a new temporary directory
  --time-scale N     plan time runs N× faster than the wall clock (1 to 10000; default ${DEMO_OPTIONS_DEFAULT.timeScale})
  --jobs N           sample jobs to submit once running, the two tenants taking turns
                     (0 to 100; default 2)
  --plan-hours H     length of the contact plan, plan hours (1 to 168; default ${DEMO_OPTIONS_DEFAULT.planHours})
  --validators N     1 to 16 (default ${DEMO_OPTIONS_DEFAULT.validators})
  --port P           the API's port if free, else any free one (default ${DEMO_OPTIONS_DEFAULT.schedulerPort})
  --mqtt-port P      the MQTT broker's port if free, else any free one (default ${DEMO_OPTIONS_DEFAULT.mqttPort})
  --mqtt-url URL     use this MQTT broker (mqtt://host:port: Mosquitto or any other) instead of
                     the embedded one; the ground agents publish their pass and telemetry events there
  --docker           the agents run workloads in Docker containers (no network) instead of as
                     processes, and the sample jobs are Docker jobs; needs a Docker engine
                     (/var/run/docker.sock, or DOCKER_HOST=unix://…) with the image
  --docker-image NAME  the sample jobs' image (any image with sh and echo; default ${DEMO_DOCKER_IMAGE_DEFAULT});
                     it must already be in the engine: the demo pulls nothing
  --no-agents        validators, scheduler and broker only (no agents, no link emulator)
  --duration-sec S   stop by itself after S wall-clock seconds of running (default: until Ctrl-C)
  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default: info) for the processes' logs
  -h, --help         show this help

Ctrl-C (or SIGTERM) stops every process: SIGTERM, and SIGKILL to any still running 10 s later.
A process that dies by itself stops the demo with exit status 1 and the end of its log.
Exit status: 0 after a clean stop; 1 when a process died or the federation did not start;
2 on a usage error.`;

interface DemoArgs {
  readonly dir: string | undefined;
  readonly jobs: number;
  readonly durationSec: number | undefined;
  readonly timeScale: number;
  readonly planHours: number;
  readonly validators: number;
  readonly port: number;
  readonly mqttPort: number;
  readonly logLevel: LogLevel;
  readonly agents: boolean;
  readonly dockerImage: string | undefined;
  readonly mqttUrl: string | undefined;
}

function parseDemoArgs(args: readonly string[]): DemoArgs {
  const v = parseCommandArgs('demo', args, {
    dir: { type: 'string' }, 'time-scale': { type: 'string' }, jobs: { type: 'string' }, 'plan-hours': { type: 'string' },
    validators: { type: 'string' }, port: { type: 'string' }, 'mqtt-port': { type: 'string' }, 'duration-sec': { type: 'string' },
    'log-level': { type: 'string' }, 'no-agents': { type: 'boolean' }, docker: { type: 'boolean' }, 'docker-image': { type: 'string' },
    'mqtt-url': { type: 'string' },
  });
  if (v['docker-image'] !== undefined && v.docker !== true) throw usageError('--docker-image names the image of --docker: give both, or neither');
  if (v['docker-image'] !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(v['docker-image'])) throw usageError(`--docker-image must be an image reference such as busybox:1.36 (got '${v['docker-image']}')`);
  if (v['mqtt-url'] !== undefined && v['mqtt-port'] !== undefined) throw usageError('--mqtt-port is the embedded broker\'s port; with --mqtt-url there is none: give one or the other');
  if (v['mqtt-url'] !== undefined && !/^mqtt:\/\/[^\s/:]+(:\d{1,5})?\/?$/.test(v['mqtt-url'])) throw usageError(`--mqtt-url must be mqtt://host:port (got '${v['mqtt-url']}')`);
  const integer = (flag: string, value: string | undefined, min: number, max: number, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = parseNumberInRange(flag, value, min, max);
    if (!Number.isInteger(n)) throw usageError(`--${flag} must be a whole number from ${min} to ${max} (got '${value}')`);
    return n;
  };
  return {
    dir: v.dir,
    jobs: integer('jobs', v.jobs, 0, 100, 2),
    durationSec: v['duration-sec'] === undefined ? undefined : parseNumberInRange('duration-sec', v['duration-sec'], 1, 30 * 86_400),
    timeScale: v['time-scale'] === undefined ? DEMO_OPTIONS_DEFAULT.timeScale : parseNumberInRange('time-scale', v['time-scale'], 1, 10_000),
    planHours: v['plan-hours'] === undefined ? DEMO_OPTIONS_DEFAULT.planHours : parseNumberInRange('plan-hours', v['plan-hours'], 1, 168),
    validators: integer('validators', v.validators, 1, 16, DEMO_OPTIONS_DEFAULT.validators),
    port: integer('port', v.port, 0, 65_535, DEMO_OPTIONS_DEFAULT.schedulerPort),
    mqttPort: integer('mqtt-port', v['mqtt-port'], 0, 65_535, DEMO_OPTIONS_DEFAULT.mqttPort),
    logLevel: v['log-level'] === undefined ? 'info' : parseChoice('log-level', v['log-level'], LOG_LEVELS),
    agents: v['no-agents'] !== true,
    dockerImage: v.docker === true ? (v['docker-image'] ?? DEMO_DOCKER_IMAGE_DEFAULT) : undefined,
    mqttUrl: v['mqtt-url'],
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function summaryText(s: DemoSummary): string {
  const minutes = (s.planEndMs - s.planNowMs) / s.timeScale / 60_000;
  return `
orbitfed demo: ready

  Plan time   now ${iso(s.planNowMs)} (started at ${iso(s.planStartMs)}), running ${s.timeScale}× faster than your clock;
              the plan (${s.contacts} contacts, ${s.planHash.slice(0, 12)}) ends ${iso(s.planEndMs)}, in ${minutes.toFixed(0)} minutes
  Satellites  ${s.satellites.join(', ')}
  Stations    ${s.stations.join(', ')}

  API         ${s.apiUrl}/v1
  API docs    ${s.docsUrl}
  Dashboard   ${s.dashboardUrl}
  MQTT        ${s.mqttUrl}   (topics orbitfed/<station>/pass, /track, /telemetry, /status)
  Validators  ${s.validatorRpcUrls.map((u) => `${u}/v1/status`).join('\n              ')}
  Processes   ${s.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}
  Logs        ${s.logsDir}/<process>.log
  Directory   ${s.dir}

  Tenants     ${s.tenants.map((t) => `${t.id}: ${t.description} (API key in ${t.apiKeyFile})`).join('\n              ')}
  API key     ${s.apiKey}   (${s.apiKeyTenant})

Submit a job that must run in orbit and come down only in the EU:

${s.curl}

Then follow it: curl -sS ${s.apiUrl}/v1/jobs -H 'Authorization: Bearer ${s.apiKey}'
Ctrl-C stops the federation.
`;
}

/** Minor units as an amount with two decimals (the demo's currency, EUR, has two). */
function money(amountMinor: string | undefined, currency: string | undefined): string {
  if (amountMinor === undefined || !/^[0-9]+$/.test(amountMinor)) return `? ${currency ?? ''}`;
  const padded = amountMinor.padStart(3, '0');
  return `${padded.slice(0, -2)}.${padded.slice(-2)} ${currency ?? ''}`;
}

function jobLine(job: SubmittedJob): string {
  const body = job.body as { id?: string; state?: string; placement?: { nodeId?: string; resultStation?: string; resultArrivalMs?: number; priceMinor?: { amount?: string; currency?: string } }; code?: string; detail?: string };
  if (job.status !== 201) return `  ${job.tenant}: ${job.name} refused (${job.status} ${body.code ?? ''}: ${body.detail ?? ''})`;
  const p = body.placement;
  return `  ${job.tenant}: ${job.name} → ${body.id} ${body.state} on ${p?.nodeId}, result at ${p?.resultStation} by ${p?.resultArrivalMs === undefined ? '?' : iso(p.resultArrivalMs)}`
    + ` for ${money(p?.priceMinor?.amount, p?.priceMinor?.currency)}`;
}

function changeLine(c: JobChange): string {
  const at = c.atMs === undefined || !Number.isFinite(c.atMs) ? '' : `${iso(c.atMs).slice(11)}  `;
  if (c.kind === 'escrow') {
    if (c.state === 'posted') return `  ${at}${c.name}: settled on the ledger: ${money(c.postedMinor, c.currency)} paid (${money(c.feeMinor, c.currency)} fee) by receipt ${c.settledBy}`;
    return `  ${at}${c.name}: escrow ${c.state}: the tenant's money went back`;
  }
  const where = c.state === 'succeeded' && c.station !== undefined ? `, result downlinked at ${c.station}` : c.state === 'running' || c.state === 'dispatched' ? ` on ${c.nodeId}` : '';
  return `  ${at}${c.name}: ${c.state}${where}${c.reason === undefined ? '' : ` (${c.reason})`}`;
}

async function runDemo(context: CommandContext): Promise<number> {
  if (context.args.includes('--help') || context.args.includes('-h')) {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const args = parseDemoArgs(context.args);
  const logger = createLogger({ level: args.logLevel === 'debug' || args.logLevel === 'trace' ? args.logLevel : 'warn', base: { program: 'demo' } });
  const stop = stopSignal(context);
  let died: ProcessExit | undefined;
  const onUnexpectedExit = (exit: ProcessExit): void => {
    died ??= exit;
    stop.abort();
  };
  const options = {
    ...DEMO_OPTIONS_DEFAULT, timeScale: args.timeScale, planHours: args.planHours, validators: args.validators, schedulerPort: args.port, mqttPort: args.mqttPort,
    agents: args.agents, logLevel: args.logLevel, dockerImage: args.dockerImage, mqttUrl: args.mqttUrl,
  };
  try {
    await DemoSession.preflight(options, context.clock, logger);
  } catch (error) {
    context.stderr.write(`orbitfed demo: ${(error as Error).message}\n`);
    return 1;
  }
  context.stdout.write('orbitfed demo: computing the contact plan and writing the federation\'s files…\n');
  const session = await DemoSession.prepare({
    options,
    dir: args.dir, clock: context.clock, logger, onUnexpectedExit,
  });
  context.stdout.write(`orbitfed demo: starting ${session.federation.processes.length} processes in ${session.federation.layout.dir}…\n`);
  let exitCode = 0;
  let durationTimer: TimerHandle | undefined;
  try {
    const summary = await session.start(stop.signal);
    context.stdout.write(summaryText(summary));
    if (args.durationSec !== undefined) durationTimer = context.clock.setTimer(durationMs(args.durationSec * 1000), () => stop.abort());
    if (args.jobs > 0 && !stop.signal.aborted) {
      context.stdout.write(`\nSubmitting ${args.jobs} sample job${args.jobs === 1 ? '' : 's'}:\n`);
      const submitted = await session.submitSampleJobs(args.jobs, stop.signal);
      for (const job of submitted) context.stdout.write(`${jobLine(job)}\n`);
      context.stdout.write('\nFollowing them (plan time):\n');
      await session.followJobs(submitted, (change) => context.stdout.write(`${changeLine(change)}\n`), stop.signal);
      if (!stop.signal.aborted) context.stdout.write('The sample jobs are done; the federation keeps running.\n');
    }
    await stop.stopped();
  } catch (error) {
    if (died === undefined && !stop.signal.aborted) {
      context.stderr.write(`orbitfed demo: the federation did not start: ${(error as Error).message}\n`);
      exitCode = 1;
    }
  } finally {
    // A pending --duration-sec timer would keep the process alive after Ctrl-C until it fires.
    durationTimer?.cancel();
    stop.dispose();
    context.stdout.write('\norbitfed demo: stopping…\n');
    await session.stop();
  }
  if (died !== undefined) {
    context.stderr.write(`orbitfed demo: ${died.name} (pid ${died.pid}) died: ${describeExit(died)}. The end of its log (${session.federation.layout.logsDir}/${died.name}.log):\n${died.logTail}\n`);
    exitCode = 1;
  }
  context.stdout.write(`orbitfed demo: stopped; everything it wrote is in ${session.federation.layout.dir}\n`);
  return exitCode;
}

export const demoCommand: Command = { name: 'demo', summary: 'a whole federation on this machine (what npm start runs)', help: HELP, run: runDemo };
