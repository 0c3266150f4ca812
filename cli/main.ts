// The orbitfed command line: dispatches to one command, turns errors into messages and exit codes.
// Each command's module (and so what it imports: libp2p, fastify, MQTT, the simulator…) is loaded
// only when that command runs or its help is asked for, so that a long-running process holds only
// its own code: the orbital agent on a flight computer counts every megabyte (orbital/README.md).
// Listing the commands (`orbitfed --help`) loads them all, for their summaries.
import { RealClock, OrbitfedError } from '../common/index.ts';
import type { Command, CommandContext } from './command.ts';

/** A command as the dispatcher knows it before loading it. */
interface CommandEntry {
  readonly name: string;
  readonly load: () => Promise<Command>;
}

const COMMANDS: readonly CommandEntry[] = [
  { name: 'passes', load: async () => (await import('./passes-command.ts')).passesCommand },
  { name: 'plan', load: async () => (await import('./plan-command.ts')).planCommand },
  { name: 'route', load: async () => (await import('./route-command.ts')).routeCommand },
  { name: 'dtn', load: async () => (await import('./dtn-command.ts')).dtnCommand },
  { name: 'validator', load: async () => (await import('./validator-command.ts')).validatorCommand },
  { name: 'scheduler', load: async () => (await import('./scheduler-command.ts')).schedulerCommand },
  { name: 'orbital-agent', load: async () => (await import('./orbital-agent-command.ts')).orbitalAgentCommand },
  { name: 'ground-agent', load: async () => (await import('./ground-agent-command.ts')).groundAgentCommand },
  { name: 'link-emulator', load: async () => (await import('./link-emulator-command.ts')).linkEmulatorCommand },
  { name: 'hil', load: async () => (await import('./hil-command.ts')).hilCommand },
  { name: 'demo', load: async () => (await import('./demo-command.ts')).demoCommand },
];

/** The commands `orbitfed --help` lists, in its order (for tests that load each one). */
export const COMMAND_LIST: readonly CommandEntry[] = COMMANDS;

/** The command list with each command's summary: loads every command (only the listing does). */
async function mainHelp(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: orbitfed <command> [options]

orbitfed: a federation of ground stations and orbital compute nodes.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'orbitfed <command> --help' (or 'orbitfed help <command>') for a command's options.`;
}

export async function main(argv: readonly string[], io: Omit<CommandContext, 'args' | 'clock'> = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && args.length === 0)) {
    io.stdout.write(`${await mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  const wanted = name === 'help' ? args[0] : name;
  const entry = COMMANDS.find((c) => c.name === wanted);
  if (entry === undefined) {
    io.stderr.write(`orbitfed: unknown command '${wanted}'\n\n${await mainHelp()}\n`);
    return 2;
  }
  const command = await entry.load();
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
