// A validator's configuration file (YAML or JSON), validated against this schema by
// common/config-file.ts. Paths are relative to the configuration file. The key is read from a file
// (never from the command line); peers are named as in the genesis document, whose public keys
// give each peer's libp2p identity.
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVELS, loadConfigFile } from '../common/index.ts';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

export const ValidatorConfigSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'this validator, as named in the genesis document' }),
  genesis: Type.String({ minLength: 1, description: 'path of the genesis document (JSON)' }),
  keyFile: Type.String({ minLength: 1, description: 'path of the ed25519 seed: 64 hex characters; keep it 0600' }),
  dataDir: Type.String({ minLength: 1, description: 'chain store and sign state live here' }),
  listen: Type.Array(Type.String({ pattern: '^/ip[46]/' }), {
    minItems: 1, maxItems: 8, description: 'libp2p multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/26656',
  }),
  peers: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 64 }),
    address: Type.String({ pattern: '^/ip[46]/', description: 'multiaddr without /p2p/ (added from the genesis key)' }),
  }, { additionalProperties: false }), { maxItems: 100 }),
  rpc: Type.Optional(Type.Object({
    host: Type.String({ default: '127.0.0.1', description: 'keep it on loopback unless a proxy guards it' }),
    port: Port,
  }, { additionalProperties: false })),
  timeouts: Type.Optional(Type.Object({
    proposeMs: Type.Integer({ minimum: 1 }), prevoteMs: Type.Integer({ minimum: 1 }), precommitMs: Type.Integer({ minimum: 1 }),
    deltaMs: Type.Integer({ minimum: 0, description: 'added per round to each timeout' }),
  }, { additionalProperties: false, description: 'Tendermint timeouts; default 3 s / 1 s / 1 s + 0.5 s per round' })),
  commitDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'block time floor (timeout_commit); default 100' })),
  emptyBlockIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'an idle chain makes a block this often; default 1000' })),
  snapshotEveryBlocks: Type.Optional(Type.Integer({ minimum: 1, description: 'ledger snapshot period; default 1000' })),
  gossipIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, description: 'default 500' })),
  proposalTxsMax: Type.Optional(Type.Integer({
    minimum: 1, maximum: 20_000, description: 'transactions this validator puts in a block it proposes (bounds a block\'s execution time); default 2000',
  })),
  signatureWorkers: Type.Optional(Type.Integer({
    minimum: 0, maximum: 64, description: 'threads verifying receipt signatures while they wait in the mempool (0: all in FinalizeBlock); default 1',
  })),
  logLevel: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))),
}, { additionalProperties: false });

export type ValidatorConfig = Static<typeof ValidatorConfigSchema>;

export interface LoadedValidatorConfig {
  readonly config: ValidatorConfig;
  /** Absolute paths resolved against the configuration file's folder. */
  readonly genesisPath: string;
  readonly keyPath: string;
  readonly dataDir: string;
}

export async function loadValidatorConfig(path: string): Promise<LoadedValidatorConfig> {
  const config = await loadConfigFile(path, ValidatorConfigSchema, 'validator configuration');
  const base = dirname(resolve(path));
  return { config, genesisPath: resolve(base, config.genesis), keyPath: resolve(base, config.keyFile), dataDir: resolve(base, config.dataDir) };
}
