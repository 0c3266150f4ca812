// `orbitfed validator --config FILE` runs a settlement validator; `orbitfed validator testnet`
// writes the keys, genesis and configurations of a local test network.
import { resolve } from 'node:path';
import { ValidatorService, writeTestnet } from '../consensus/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseNumberInRange } from './flag-values.ts';
import { stopSignal } from './stop-signal.ts';
import { usageError } from './usage-error.ts';

const HELP = `Usage: orbitfed validator --config FILE
       orbitfed validator testnet --dir DIR [--validators N] [--base-port P] [--chain-id ID]
                                  [--tenants A,B] [--nodes X,Y]

Runs one settlement validator: Tendermint consensus among the ground validators (over libp2p,
admitting only the validator keys of the genesis document) and the double-entry ledger that
settles usage receipts, escrows, fees and slashing. Runs until SIGINT or SIGTERM; on a graceful
stop it snapshots the ledger so the next start replays nothing. Logs are JSON lines on standard
error; the client API (if configured) answers on http://HOST:PORT/v1/status, /v1/txs, /metrics.

  --config FILE   the validator's configuration (YAML or JSON; see consensus/README.md,
                  "Running a validator", for every option)

testnet   Writes a local network of N validators into DIR: one key (vI.key, 0600) and one
          configuration (vI.json) per validator, genesis.json with a EUR fee and escrow account,
          the tenants (each with 10^12 minor units), the nodes (keys in DIR/nodes, provider
          accounts "<id>-earnings") and each validator registered as a node with a stake
          account. Validator I listens on P + 2I (libp2p) and P + 2I + 1 (RPC).
  --dir DIR         where to write (created if missing)
  --validators N    4 to 7 … any from 1 to 100 (default 4)
  --base-port P     default 26600
  --chain-id ID     default orbitfed-local
  --tenants A,B     tenant account ids (default tenant-a)
  --nodes X,Y       node ids (default sat-1,station-1)

Exit status: 0 after a clean stop, 2 on a usage or configuration error.`;

async function runValidator(context: CommandContext, args: readonly string[]): Promise<number> {
  const v = parseCommandArgs('validator', args, { config: { type: 'string' } });
  if (v.config === undefined) throw usageError('--config FILE is required (see orbitfed validator --help)');
  const stop = stopSignal(context);
  const service = new ValidatorService({ configPath: v.config, clock: context.clock });
  try {
    await service.start();
    const endpoints = service.endpoints();
    context.stderr.write(`validator running; rpc ${endpoints.rpc ?? 'off'}; p2p ${endpoints.p2p.join(' ')}\n`);
    await stop.stopped();
  } finally {
    stop.dispose();
    await service.stop();
  }
  return 0;
}

function runTestnet(context: CommandContext, args: readonly string[]): number {
  const v = parseCommandArgs('validator testnet', args, {
    dir: { type: 'string' }, validators: { type: 'string' }, 'base-port': { type: 'string' }, 'chain-id': { type: 'string' },
    tenants: { type: 'string' }, nodes: { type: 'string' },
  });
  if (v.dir === undefined) throw usageError('--dir DIR is required (see orbitfed validator --help)');
  const validators = v.validators === undefined ? 4 : parseNumberInRange('--validators', v.validators, 1, 100);
  const basePort = v['base-port'] === undefined ? 26_600 : parseNumberInRange('--base-port', v['base-port'], 1024, 65_535 - 2 * validators);
  if (!Number.isInteger(validators) || !Number.isInteger(basePort)) throw usageError('--validators and --base-port are integers');
  const list = (text: string | undefined, fallback: string[]): string[] => (text === undefined ? fallback : text.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  const testnet = writeTestnet({
    dir: resolve(v.dir), validators, basePort, chainId: v['chain-id'] ?? 'orbitfed-local', genesisTimeMs: context.clock.now(),
    tenants: list(v.tenants, ['tenant-a']), nodes: list(v.nodes, ['sat-1', 'station-1']),
  });
  context.stdout.write(`${JSON.stringify({ genesis: testnet.genesisPath, configs: testnet.configPaths, rpc: testnet.rpcUrls }, null, 2)}\n`);
  return 0;
}

export const validatorCommand: Command = {
  name: 'validator',
  summary: 'run a settlement validator (Tendermint + ledger), or write a local testnet',
  help: HELP,
  async run(context) {
    const [first, ...rest] = context.args;
    if (first === '--help' || first === '-h') {
      context.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (first === 'testnet') return runTestnet(context, rest);
    return runValidator(context, context.args);
  },
};
