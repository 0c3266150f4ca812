// `orbitfed hil run SCENARIO.yaml`: a scenario against a federation of real processes (hil/scenario*.ts),
// or with --virtual in one process in virtual time (hil/virtual-*.ts);
// `orbitfed hil swarm SCENARIO.yaml --seeds A..B`: the virtual run once per seed, with random faults;
// `orbitfed hil exec … -- COMMAND`: one of a federation's programs on the federation's plan time.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TimeBase } from '../common/index.ts';
import { createLogger, ScaledClock, TIME_SCALE_MAX } from '../common/index.ts';
import {
  checkScenario, loadScenarioFile, parseSeedRange, runScenario, runSwarm, runVirtualScenario, SWARM_SEED_MAX, writeScenarioReport, writeVirtualReport,
  type Scenario,
} from '../hil/index.ts';
import type { Command, CommandContext } from './command.ts';
import { parseCommandArgs } from './command-args.ts';
import { parseChoice, parseNumberInRange } from './flag-values.ts';
import { groundAgentCommand } from './ground-agent-command.ts';
import { linkEmulatorCommand } from './link-emulator-command.ts';
import { orbitalAgentCommand } from './orbital-agent-command.ts';
import { schedulerCommand } from './scheduler-command.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';
import { validatorCommand } from './validator-command.ts';

/** The programs a federation runs, which `hil exec` runs on its plan time. */
const FEDERATION_COMMANDS: readonly Command[] = [validatorCommand, schedulerCommand, linkEmulatorCommand, groundAgentCommand, orbitalAgentCommand];

const HELP = `Usage: orbitfed hil run SCENARIO.yaml [--dir DIR]
       orbitfed hil run SCENARIO.yaml --virtual [--seed N] [--no-random-faults] [--dir DIR]
       orbitfed hil swarm SCENARIO.yaml --seeds A..B [--dir DIR] [--keep]
       orbitfed hil exec --time-scale N --origin-ms MS --wall-origin-ms MS [--timers wall]
                         -- COMMAND [ARGS…]

run    Runs a scenario: starts a federation of real processes (validators, scheduler, agents,
       link emulator), submits its jobs, injects its faults, then checks its invariants and
       writes a JSON report and an HTML page. See hil/README.md, "Scenarios";
       samples/scenarios/ has examples.
         --dir DIR   working directory (new or empty; default a new temporary one): the
                     processes' files and logs, report.json and report.html
         --virtual   the same scenario in this one process, in virtual time, deterministic:
                     real validators, scheduler and agents on simulated links and a simulated
                     workload runtime (hil/README.md, "Virtual-time swarm mode"); prints the
                     seed and the trace hash (the same seed gives the same hash) and also
                     writes trace.jsonl. Default directory: a new one under /dev/shm.
         --seed N    the virtual run's seed (0 to ${SWARM_SEED_MAX}; default 1): keys, message
                     faults and the random faults it draws
         --no-random-faults   only the scenario's own faults

swarm  Runs the scenario virtually once per seed of A..B (or one seed N), each with the random
       faults its seed draws (validators, scheduler, stations, satellites crashed and restarted,
       partitions, flapping links, lost / duplicated / delayed validator messages), checks each,
       prints one line per seed and, at the end, the failing seeds with the command that
       replays each. Exit status 0 when every seed held every invariant.
         --seeds A..B  the seeds (inclusive), e.g. 1..500
         --dir DIR     working directory (default a new one under /dev/shm): seed-N/ per seed;
                       a passing seed's is removed unless --keep

exec   Runs one of a federation's programs (${FEDERATION_COMMANDS.map((c) => c.name).join(', ')}) on the
       federation's plan time instead of the wall clock: the program's clock reads
       --origin-ms (Unix ms) at wall instant --wall-origin-ms and runs --time-scale times faster;
       its timers are scaled too, unless --timers wall (validators: their consensus timeouts
       and RPC waits stay wall-clock durations; only block times are plan time). Every
       process of one federation gets the same three values, so they all read the same time. \`orbitfed demo\` and \`hil run\` start their
       processes this way; you rarely type it.

Exit status: that of the command (exec); 0 when every invariant held, 1 when one did not, 2 on
a usage error or a bad scenario file (run, swarm).`;

function scaledClockOf(args: readonly string[]): ScaledClock {
  const v = parseCommandArgs('hil exec', args, {
    'time-scale': { type: 'string' }, 'origin-ms': { type: 'string' }, 'wall-origin-ms': { type: 'string' }, timers: { type: 'string' },
  });
  for (const flag of ['time-scale', 'origin-ms', 'wall-origin-ms'] as const) {
    if (v[flag] === undefined) throw usageError(`--${flag} is required (see orbitfed hil --help)`);
  }
  const timeBase: TimeBase = {
    timeScale: parseNumberInRange('time-scale', v['time-scale']!, 1, TIME_SCALE_MAX),
    originMs: parseNumberInRange('origin-ms', v['origin-ms']!, 0, 8.64e15),
    wallOriginMs: parseNumberInRange('wall-origin-ms', v['wall-origin-ms']!, 0, 8.64e15),
  };
  return new ScaledClock(timeBase, { timers: v.timers === undefined ? 'scaled' : parseChoice('timers', v.timers, ['scaled', 'wall'] as const) });
}

async function runExec(context: CommandContext, args: readonly string[]): Promise<number> {
  const separator = args.indexOf('--');
  if (separator < 0) throw usageError('give the command after --, e.g. orbitfed hil exec --time-scale 60 … -- scheduler --config FILE');
  const clock = scaledClockOf(args.slice(0, separator));
  const [name, ...commandArgs] = args.slice(separator + 1);
  const command = FEDERATION_COMMANDS.find((c) => c.name === name);
  if (command === undefined) throw usageError(`hil exec runs ${FEDERATION_COMMANDS.map((c) => c.name).join(', ')}; got '${name ?? ''}'`);
  return command.run({ ...context, args: commandArgs, clock });
}

/** Virtual runs log only errors: a swarm's crashes and partitions make warnings by design. */
const virtualLogger = () => createLogger({ level: 'error', base: { program: 'hil-virtual' } });
const scratchDir = (name: string): string => mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `orbitfed-${name}-`));

async function runVirtual(context: CommandContext, scenario: Scenario, v: { dir?: string | undefined; seed?: string | undefined; 'no-random-faults'?: boolean | undefined }): Promise<number> {
  const seed = v.seed === undefined ? 1 : parseNumberInRange('seed', v.seed, 0, SWARM_SEED_MAX);
  if (!Number.isInteger(seed)) throw usageError(`--seed must be an integer, got ${v.seed}`);
  const randomFaults = v['no-random-faults'] !== true;
  const stop = stopSignal(context);
  try {
    const result = await runVirtualScenario({
      scenario, seed, randomFaults, dir: v.dir === undefined ? undefined : resolve(v.dir), logger: virtualLogger(), signal: stop.signal,
      onProgress: (line) => context.stderr.write(`orbitfed hil run --virtual: ${line}\n`),
    });
    const checks = checkScenario(result.record);
    const { report, htmlPath } = writeVirtualReport(result, checks, randomFaults);
    for (const check of checks) context.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.title}\n      ${check.details.join('\n      ')}\n`);
    context.stdout.write(`\nseed ${seed}, trace hash ${result.traceHash} (${result.traceEvents} events)\n`);
    context.stdout.write(`${report.ok ? 'every invariant held' : 'invariants broken'}; report: ${htmlPath} (and report.json, trace.jsonl)\nreplay: ${report.replay}\n`);
    return report.ok ? 0 : 1;
  } finally {
    stop.dispose();
  }
}

async function runSwarmCommand(context: CommandContext, args: readonly string[]): Promise<number> {
  const [path, ...flags] = args;
  if (path === undefined || path.startsWith('-')) throw usageError('give the scenario file: orbitfed hil swarm SCENARIO.yaml --seeds A..B (see orbitfed hil --help)');
  const v = parseCommandArgs('hil swarm', flags, { seeds: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' } });
  if (v.seeds === undefined) throw usageError('--seeds A..B is required (see orbitfed hil --help)');
  let seeds;
  try {
    seeds = parseSeedRange(v.seeds);
  } catch (error) {
    throw usageError(`--seeds: ${(error as Error).message}`);
  }
  const scenario = await loadScenarioFile(path);
  const dir = v.dir === undefined ? scratchDir('swarm') : resolve(v.dir);
  const stop = stopSignal(context);
  const startedMs = context.clock.now();
  try {
    context.stderr.write(`orbitfed hil swarm: ${scenario.file.name}, seeds ${seeds.first}..${seeds.last}, in ${dir}\n`);
    const outcomes = await runSwarm({
      scenario, seeds, dir, keepPassing: v.keep === true, logger: virtualLogger(), signal: stop.signal,
      onSeed: (o) => context.stdout.write(`seed ${o.seed}: ${o.ok ? 'ok  ' : 'FAIL'} ${o.traceHash?.slice(0, 16) ?? '-'} ${o.randomFaults} random faults${o.ok ? '' : ` — ${o.failures[0] ?? ''}`}\n`),
    });
    const failed = outcomes.filter((o) => !o.ok);
    const seconds = ((context.clock.now() - startedMs) / 1000).toFixed(1);
    context.stdout.write(`\n${outcomes.length - failed.length} of ${outcomes.length} seeds held every invariant (${seconds} s)\n`);
    for (const o of failed) context.stdout.write(`FAILED seed ${o.seed} (report in ${o.dir}): ${o.failures.join(' | ')}\n  replay: ${o.replay}\n`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    stop.dispose();
  }
}

async function runRun(context: CommandContext, args: readonly string[]): Promise<number> {
  const [path, ...flags] = args;
  if (path === undefined || path.startsWith('-')) throw usageError('give the scenario file: orbitfed hil run SCENARIO.yaml (see orbitfed hil --help)');
  const v = parseCommandArgs('hil run', flags, { dir: { type: 'string' }, virtual: { type: 'boolean' }, seed: { type: 'string' }, 'no-random-faults': { type: 'boolean' } });
  if (v.virtual !== true && (v.seed !== undefined || v['no-random-faults'] !== undefined)) throw usageError('--seed and --no-random-faults are options of a virtual run: add --virtual');
  const scenario = await loadScenarioFile(path);
  if (v.virtual === true) return runVirtual(context, scenario, v);
  const stop = stopSignal(context);
  const logger = createLogger({ level: 'warn', base: { program: 'hil-run' } });
  try {
    const record = await runScenario({
      scenario, dir: v.dir === undefined ? undefined : resolve(v.dir), clock: context.clock, logger, signal: stop.signal,
      onProgress: (line) => context.stderr.write(`orbitfed hil run: ${line}\n`),
    });
    const checks = checkScenario(record);
    const report = writeScenarioReport(record, checks, join(record.dir, 'report.json'), join(record.dir, 'report.html'));
    for (const check of checks) context.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.title}\n      ${check.details.join('\n      ')}\n`);
    context.stdout.write(`\n${report.ok ? 'every invariant held' : 'invariants broken'}; report: ${join(record.dir, 'report.html')} (and report.json)\n`);
    return report.ok ? 0 : 1;
  } finally {
    stop.dispose();
  }
}

async function runHil(context: CommandContext): Promise<number> {
  const [sub, ...rest] = context.args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    context.stdout.write(`${HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'exec') return runExec(context, rest);
  if (sub === 'run') return runRun(context, rest);
  if (sub === 'swarm') return runSwarmCommand(context, rest);
  throw usageError(`unknown hil subcommand '${sub}' (see orbitfed hil --help)`);
}

export const hilCommand: Command = { name: 'hil', summary: 'run a HIL scenario (real processes, or virtual time and swarm seeds); run a federation program on plan time', help: HELP, run: runHil };
