// A local test network on one machine, as `cometbft testnet` makes one: n validator keys, a genesis
// document, and one configuration file per validator, each listening on loopback ports from a base
// port up, every validator dialling every other. The genesis holds what a demo or a bench needs: a
// currency with its fee and escrow accounts, tenants with money, orbital/ground nodes registered
// with their keys (proof of possession) and provider accounts, and each validator registered as a
// node with a stake account, so that committed evidence slashes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519KeyPairFromSeed, randomEd25519Seed } from './ed25519.ts';
import { genesisTransactionHex, type Genesis } from './genesis.ts';
import { registerNodeTransaction } from './ledger-nodes.ts';
import type { LedgerTransaction } from './ledger-transactions.ts';
import type { ValidatorConfig } from './validator-config.ts';

export interface TestnetOptions {
  readonly dir: string;
  readonly validators: number;
  /** Validator i listens on basePort + 2i (libp2p) and basePort + 2i + 1 (RPC). */
  readonly basePort: number;
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly currency?: string;
  /** Tenant ids, each minted `tenantBalanceMinor`. */
  readonly tenants?: readonly string[];
  readonly tenantBalanceMinor?: bigint;
  /** Node ids registered with fresh keys (written to nodes/<id>.key) and provider accounts "<id>-earnings". */
  readonly nodes?: readonly string[];
  readonly validatorStakeMinor?: bigint;
  /** Account ids, when a client names them its own way (the scheduler: "t:<tenant>:<currency>"). */
  readonly accountIds?: {
    readonly fee?: (currency: string) => string;
    readonly escrow?: (currency: string) => string;
    readonly tenant?: (tenant: string, currency: string) => string;
    readonly provider?: (node: string, currency: string) => string;
  };
  /** Settings copied into every validator's configuration. */
  readonly configExtras?: Partial<ValidatorConfig>;
}

export interface Testnet {
  readonly genesisPath: string;
  readonly configPaths: readonly string[];
  readonly rpcUrls: readonly string[];
  /** Seeds of the registered nodes, by id (for signing receipts). */
  readonly nodeSeeds: ReadonlyMap<string, Uint8Array>;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function writeTestnet(options: TestnetOptions): Testnet {
  const currency = options.currency ?? 'EUR';
  const dir = options.dir;
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  const seeds = Array.from({ length: options.validators }, () => randomEd25519Seed());
  const ids = options.accountIds ?? {};
  const txs: LedgerTransaction[] = [
    { kind: 'open-account', accountId: ids.fee?.(currency) ?? `fee-${currency}`, accountKind: 'fee', currency, ownerId: 'federation' },
    { kind: 'open-account', accountId: ids.escrow?.(currency) ?? `escrow-${currency}`, accountKind: 'escrow', currency, ownerId: 'federation' },
  ];
  for (const tenant of options.tenants ?? []) {
    const accountId = ids.tenant?.(tenant, currency) ?? tenant;
    txs.push({ kind: 'open-account', accountId, accountKind: 'tenant', currency, ownerId: tenant });
    txs.push({ kind: 'mint', transferId: `mint-${tenant}`, accountId, amountMinor: options.tenantBalanceMinor ?? 10n ** 12n });
  }
  const nodeSeeds = new Map<string, Uint8Array>();
  for (const nodeId of options.nodes ?? []) {
    const seed = randomEd25519Seed();
    nodeSeeds.set(nodeId, seed);
    writeFileSync(join(dir, 'nodes', `${nodeId}.key`), `${hex(seed)}\n`, { mode: 0o600 });
    txs.push(registerNodeTransaction(options.chainId, nodeId, seed));
    txs.push({ kind: 'open-account', accountId: ids.provider?.(nodeId, currency) ?? `${nodeId}-earnings`, accountKind: 'provider', currency, ownerId: nodeId });
  }
  seeds.forEach((seed, i) => {
    const nodeId = `validator-${i}`;
    txs.push(registerNodeTransaction(options.chainId, nodeId, seed));
    txs.push({ kind: 'open-account', accountId: `${nodeId}-stake`, accountKind: 'stake', currency, ownerId: nodeId });
    txs.push({ kind: 'mint', transferId: `mint-${nodeId}-stake`, accountId: `${nodeId}-stake`, amountMinor: options.validatorStakeMinor ?? 1_000_000n });
  });
  const genesis: Genesis = {
    chainId: options.chainId,
    genesisTimeMs: options.genesisTimeMs,
    validators: seeds.map((seed, i) => ({ name: `v${i}`, publicKey: hex(ed25519KeyPairFromSeed(seed).publicKey), votingPower: 10, nodeId: `validator-${i}` })),
    transactions: txs.map(genesisTransactionHex),
  };
  const genesisPath = join(dir, 'genesis.json');
  writeFileSync(genesisPath, `${JSON.stringify(genesis, null, 2)}\n`);
  const p2pPort = (i: number): number => options.basePort + 2 * i;
  const configPaths: string[] = [];
  const rpcUrls: string[] = [];
  seeds.forEach((seed, i) => {
    writeFileSync(join(dir, `v${i}.key`), `${hex(seed)}\n`, { mode: 0o600 });
    const config: ValidatorConfig = {
      name: `v${i}`,
      genesis: 'genesis.json',
      keyFile: `v${i}.key`,
      dataDir: `v${i}-data`,
      listen: [`/ip4/127.0.0.1/tcp/${p2pPort(i)}`],
      peers: seeds.map((_, j) => j).filter((j) => j !== i).map((j) => ({ name: `v${j}`, address: `/ip4/127.0.0.1/tcp/${p2pPort(j)}` })),
      rpc: { host: '127.0.0.1', port: p2pPort(i) + 1 },
      ...options.configExtras,
    };
    const path = join(dir, `v${i}.json`);
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
    configPaths.push(path);
    rpcUrls.push(`http://127.0.0.1:${p2pPort(i) + 1}`);
  });
  return { genesisPath, configPaths, rpcUrls, nodeSeeds };
}
