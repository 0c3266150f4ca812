// The one place a validator process is wired (STYLE rule 14): configuration, genesis and key →
// chain store, sign state, ledger application, Tendermint shell, libp2p transport, RPC, logs and
// metrics. `start()` brings them up in dependency order; `stop()` takes them down in reverse and
// snapshots the ledger so that the next start replays nothing.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLogger, MetricsRegistry, OrbitfedError, readBoundedTextFile, type Clock, type Logger,
} from '../common/index.ts';
import { libp2pPeerIdOf } from '../dtn/index.ts';
import { hexOf } from './binary-layout.ts';
import { ChainStore } from './chain-store.ts';
import { ed25519Signer, ed25519Verify } from './ed25519.ts';
import { checkGenesis, genesisLedger, type ChainGenesis } from './genesis.ts';
import { FileSignStateStore } from './sign-state-file.ts';
import { TIMEOUTS_DEFAULT, type TimeoutConfig } from './tendermint.ts';
import { readKeyFile } from './key-file.ts';
import { loadValidatorConfig, type LoadedValidatorConfig } from './validator-config.ts';
import { ValidatorNode } from './validator-node.ts';
import { ValidatorRpc } from './validator-rpc.ts';
import { SignatureWorkerPool } from './signature-worker-pool.ts';
import { Libp2pValidatorTransport } from './validator-transport.ts';
import { validatorAddress } from './validator-set.ts';

/** CPU time (user + system, all threads) this process has used, in ms. */
function processCpuMs(): number {
  const usage = process.cpuUsage();
  return Math.round((usage.user + usage.system) / 1000);
}

export interface ValidatorServiceOptions {
  readonly configPath: string;
  readonly clock: Clock;
  /** Where logs go (stderr by default). */
  readonly logger?: Logger;
}

export class ValidatorService {
  readonly #options: ValidatorServiceOptions;
  #loaded: LoadedValidatorConfig | null = null;
  #chain: ChainGenesis | null = null;
  #store: ChainStore | null = null;
  #transport: Libp2pValidatorTransport | null = null;
  #node: ValidatorNode | null = null;
  #rpc: ValidatorRpc | null = null;
  #signatureWorkers: SignatureWorkerPool | null = null;
  #log: Logger | null = null;

  constructor(options: ValidatorServiceOptions) {
    this.#options = options;
  }

  get node(): ValidatorNode {
    if (this.#node === null) throw new OrbitfedError('ORBITFED_VALIDATOR_STOPPED', 'the validator is not running');
    return this.#node;
  }

  /** Where clients reach the RPC, and where peers reach this validator. */
  endpoints(): { rpc: string | null; p2p: string[] } {
    const rpc = this.#rpc?.address();
    return { rpc: rpc === undefined ? null : `http://${rpc.host}:${rpc.port}`, p2p: this.#transport?.addresses() ?? [] };
  }

  async start(): Promise<void> {
    const loaded = await loadValidatorConfig(this.#options.configPath);
    const { config } = loaded;
    this.#loaded = loaded;
    const root = this.#options.logger ?? createLogger({ level: config.logLevel ?? 'info', base: { validator: config.name } });
    const log = root.child({ component: 'validator-service' });
    this.#log = log;
    const genesisText = await readBoundedTextFile(loaded.genesisPath, {
      what: 'genesis document', maxBytes: 64 * 1024 * 1024, readCode: 'ORBITFED_GENESIS_READ', tooLargeCode: 'ORBITFED_GENESIS_TOO_LARGE', invalidTextCode: 'ORBITFED_GENESIS_INVALID',
    });
    let document: unknown;
    try {
      document = JSON.parse(genesisText);
    } catch (error) {
      throw new OrbitfedError('ORBITFED_GENESIS_INVALID', `genesis document is not JSON: ${(error as Error).message}`, { file: loaded.genesisPath });
    }
    const chain = checkGenesis(document);
    this.#chain = chain;
    const seed = await readKeyFile(loaded.keyPath);
    const key = ed25519Signer(seed);
    const ownAddress = validatorAddress(key.publicKey);
    if (chain.addressOfName.get(config.name) !== ownAddress) {
      throw new OrbitfedError('ORBITFED_VALIDATOR_KEY', `the key in ${loaded.keyPath} is not validator ${config.name}'s in the genesis document`, { file: loaded.keyPath });
    }
    const peers = config.peers.map((peer, i) => {
      const entry = chain.genesis.validators.find((v) => v.name === peer.name);
      if (entry === undefined || peer.name === config.name) {
        throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `peer ${peer.name} is not another validator of the genesis document`, { file: this.#options.configPath, field: `/peers/${i}/name` });
      }
      const publicKey = Buffer.from(entry.publicKey, 'hex');
      return { address: chain.addressOfName.get(peer.name)!, publicKey: new Uint8Array(publicKey), multiaddr: `${peer.address}/p2p/${libp2pPeerIdOf(publicKey)}` };
    });

    mkdirSync(loaded.dataDir, { recursive: true });
    const store = ChainStore.open(join(loaded.dataDir, 'chain.sqlite'));
    this.#store = store;
    const metrics = new MetricsRegistry().withProcessMetrics();
    const heightGauge = metrics.gauge('orbitfed_validator_height', 'last committed height');
    const txsCounter = metrics.counter('orbitfed_validator_txs_committed_total', 'transactions in committed blocks');
    const roundGauge = metrics.gauge('orbitfed_validator_last_commit_round', 'round in which the last block was decided');

    const signatureWorkerThreads = config.signatureWorkers ?? 1;
    const signatureWorkers = signatureWorkerThreads > 0 ? new SignatureWorkerPool({ threads: signatureWorkerThreads, logger: root }) : null;
    this.#signatureWorkers = signatureWorkers;
    const transport = new Libp2pValidatorTransport({ identitySeed: seed, listenAddresses: config.listen, peers, clock: this.#options.clock, logger: root });
    this.#transport = transport;
    const t = config.timeouts;
    const timeouts: TimeoutConfig = t === undefined ? TIMEOUTS_DEFAULT : {
      proposeMs: t.proposeMs, prevoteMs: t.prevoteMs, precommitMs: t.precommitMs, proposeDeltaMs: t.deltaMs, prevoteDeltaMs: t.deltaMs, precommitDeltaMs: t.deltaMs,
    };
    const node = new ValidatorNode(
      {
        chainId: chain.genesis.chainId, validators: chain.validators, ownAddress, genesisTimeMs: chain.genesis.genesisTimeMs, timeouts,
        nodeOfValidator: chain.nodeOfValidator,
        ...(config.commitDelayMs !== undefined ? { commitDelayMs: config.commitDelayMs } : {}),
        ...(config.emptyBlockIntervalMs !== undefined ? { emptyBlockIntervalMs: config.emptyBlockIntervalMs } : {}),
        ...(config.snapshotEveryBlocks !== undefined ? { snapshotEveryBlocks: config.snapshotEveryBlocks } : {}),
        ...(config.gossipIntervalMs !== undefined ? { gossipIntervalMs: config.gossipIntervalMs } : {}),
        ...(config.proposalTxsMax !== undefined ? { proposalTxsMax: config.proposalTxsMax } : {}),
      },
      {
        clock: this.#options.clock,
        key,
        verify: ed25519Verify,
        // A missing sign-state file is only a first start when the chain store is empty too.
        signStateStore: new FileSignStateStore(join(loaded.dataDir, 'sign-state'), { createIfMissing: store.height === 0 }),
        chainStore: store,
        transport,
        genesisLedger: () => genesisLedger(chain),
        ...(signatureWorkers !== null ? { signaturePrecheck: signatureWorkers } : {}),
        logger: root,
      },
    );
    node.onCommitted((info) => {
      heightGauge.set(info.height);
      txsCounter.inc(undefined, info.txs);
      roundGauge.set(info.round);
    });
    await transport.start();
    log.info({ cpuMs: processCpuMs() }, 'transport listening');
    this.#node = node;
    node.start();
    // Only now: a starting worker competes for the CPU with the restore, and no receipt waits yet
    // (until it runs, FinalizeBlock verifies every signature itself).
    signatureWorkers?.start();
    if (config.rpc !== undefined) {
      const rpc = new ValidatorRpc(node, { host: config.rpc.host, port: config.rpc.port, chainId: chain.genesis.chainId, name: config.name, clock: this.#options.clock, metrics });
      await rpc.start();
      this.#rpc = rpc;
    }
    log.info({
      chainId: chain.genesis.chainId, genesisHash: chain.documentHash, address: ownAddress, height: node.height, publicKey: hexOf(key.publicKey), ...this.endpoints(),
      // CPU time of the whole process (all threads) since it began: what a start costs, beside its wall time.
      cpuMs: processCpuMs(),
    }, 'validator running');
  }

  async stop(): Promise<void> {
    const node = this.#node;
    this.#node = null;
    await this.#rpc?.stop();
    this.#rpc = null;
    node?.stop();
    try {
      node?.snapshotNow();
    } catch (error) {
      this.#log?.warn({ error: (error as Error).message }, 'could not snapshot the ledger at shutdown; the next start replays blocks');
    }
    await this.#transport?.stop();
    this.#transport = null;
    await this.#signatureWorkers?.stop();
    this.#signatureWorkers = null;
    this.#store?.close();
    this.#store = null;
    this.#log?.info({ chainId: this.#chain?.genesis.chainId, dataDir: this.#loaded?.dataDir }, 'validator stopped');
  }
}
