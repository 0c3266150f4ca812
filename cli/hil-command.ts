// `orbitfed hil run SCENARIO.yaml`: a scenario against a federation of real processes (hil/scenario*.ts);
// `orbitfed hil exec … -- COMMAND`: one of a federation's programs on the federation's plan time.
import { join, resolve } from 'node:path';
import type { TimeBase } from '../common/index.ts';
import { createLogger, ScaledClock, TIME_SCALE_MAX } from '../common/index.ts';
import { checkScenario, loadScenarioFile, runScenario, writeScenarioReport } from '../hil/index.ts';
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
       orbitfed hil exec --time-scale N --origin-ms MS --wall-origin-ms MS [--timers wall]
                         -- COMMAND [ARGS…]

run    Runs a scenario: starts a federation of real processes (validators, scheduler, agents,
       link emulator), submits its jobs, injects its faults, then checks its invariants and
       writes a JSON report and an HTML page. See hil/README.md, "Scenarios";
       samples/scenarios/ has examples.
         --dir DIR   working directory (new or empty; default a new temporary one): the
                     processes' files and logs, report.json and report.html

exec   Runs one of a federation's programs (${FEDERATION_COMMANDS.map((c) => c.name).join(', ')}) on the
       federation's plan time instead of the wall clock: the program's clock reads
       --origin-ms (Unix ms) at wall instant --wall-origin-ms and runs --time-scale times faster;
       its timers are scaled too, unless --timers wall (validators: their consensus timeouts
       and RPC waits stay wall-clock durations; only block times are plan time). Every
       process of one federation gets the same three values, so they all read the same time. \`orbitfed demo\` and \`hil run\` start their
       processes this way; you rarely type it.

Exit status: that of the command (exec); 0 when every invariant held, 1 when one did not, 2 on
a usage error or a bad scenario file (run).`;

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

async function runRun(context: CommandContext, args: readonly string[]): Promise<number> {
  const [path, ...flags] = args;
  if (path === undefined || path.startsWith('-')) throw usageError('give the scenario file: orbitfed hil run SCENARIO.yaml (see orbitfed hil --help)');
  const v = parseCommandArgs('hil run', flags, { dir: { type: 'string' } });
  const scenario = await loadScenarioFile(path);
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
  throw usageError(`unknown hil subcommand '${sub}' (see orbitfed hil --help)`);
}

export const hilCommand: Command = { name: 'hil', summary: 'run a HIL scenario; run a federation program on plan time', help: HELP, run: runHil };
