// The orbitfed command line: dispatches to one command, turns errors into messages and exit codes.
import { RealClock, OrbitfedError } from '../common/index.ts';
import type { Command, CommandContext } from './command.ts';
import { demoCommand } from './demo-command.ts';
import { dtnCommand } from './dtn-command.ts';
import { groundAgentCommand } from './ground-agent-command.ts';
import { hilCommand } from './hil-command.ts';
import { linkEmulatorCommand } from './link-emulator-command.ts';
import { orbitalAgentCommand } from './orbital-agent-command.ts';
import { passesCommand } from './passes-command.ts';
import { planCommand } from './plan-command.ts';
import { routeCommand } from './route-command.ts';
import { schedulerCommand } from './scheduler-command.ts';
import { validatorCommand } from './validator-command.ts';

const COMMANDS: readonly Command[] = [passesCommand, planCommand, routeCommand, dtnCommand, validatorCommand, schedulerCommand, orbitalAgentCommand, groundAgentCommand, linkEmulatorCommand, hilCommand, demoCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: orbitfed <command> [options]

orbitfed: a federation of ground stations and orbital compute nodes.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'orbitfed <command> --help' (or 'orbitfed help <command>') for a command's options.`;
}

export async function main(argv: readonly string[], io: Omit<CommandContext, 'args' | 'clock'> = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && args.length === 0)) {
    io.stdout.write(`${mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  const wanted = name === 'help' ? args[0] : name;
  const command = COMMANDS.find((c) => c.name === wanted);
  if (command === undefined) {
    io.stderr.write(`orbitfed: unknown command '${wanted}'\n\n${mainHelp()}\n`);
    return 2;
  }
  if (name === 'help') {
    io.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run({ ...io, args, clock: new RealClock() });
  } catch (error) {
    if (error instanceof OrbitfedError) {
      io.stderr.write(`orbitfed ${command.name}: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  }
}
