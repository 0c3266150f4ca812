// The ground-station agent (issue 8): the parts of one station, started and stopped together.
// ground-agent-service.ts builds them from the configuration; tests build them around simulated
// links. What the station does:
//
// - The bridge. One BundleAgent with two sides: the terrestrial overlay (libp2p CL: the scheduler,
//   other stations, gateways) and the satellite link (TCPCLv4 and/or MTCP). Its contact plan is the
//   federation's plan plus always-on overlay contacts to the configured terrestrial peers
//   (scheduler/dispatcher.ts `withOverlayContacts`). The agent forwards a bundle only while the
//   contact its route takes is open, at the contact's rate: toward a satellite during that
//   satellite's passes over this station, and holds it in its durable store outside them. Nothing
//   here decides when: the plan does (dtn/README.md, "Forwarding").
// - Endpoints of the station's own node (scheduler/job-assignment.ts service numbers):
//   1 assignments → the terrestrial executor (terrestrial-executor.ts), when jobs are configured;
//   3 results     → delivered to the result's tenant endpoint when that is an ipn EID (the
//                   scheduler names its own results endpoint), else kept under `resultsDir`;
//   4 receipts    → the receipt gateway (receipt-gateway.ts), when validators are configured;
//   5 telemetry   → republished on MQTT `orbitfed/<station>/telemetry` (source `satellite`).
//   An endpoint without a handler keeps its bundles in the store until one is configured.
// - MQTT: pass events and antenna tracking from the PassPublisher, station status with its last
//   will; operators' blackout windows go to the BlackoutForwarder (blackout-forwarder.ts).
// - Bundle agent counters as Prometheus gauges, refreshed every `metricsIntervalMs`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileDurably, unixMs, type Clock, type DurationMs, type GaugeMetric, type Logger, type MetricsRegistry, type TimerHandle } from '../common/index.ts';
import type { ContactPlan, Station } from '../contact-plans/index.ts';
import { formatEid, parseEid, type BundleAgent, type BundleAgentMetrics, type Delivery } from '../dtn/index.ts';
import { decodeJobResult, decodeTelemetryPayload, SERVICE_NUMBERS, withOverlayContacts, type OverlayPeer } from '../scheduler/index.ts';
import type { BlackoutForwarder } from './blackout-forwarder.ts';
import type { GroundMqttClient } from './mqtt-client.ts';
import type { PassPublisher } from './pass-publisher.ts';
import type { ReceiptGateway } from './receipt-gateway.ts';
import type { TerrestrialExecutor } from './terrestrial-executor.ts';

/** Results kept on disk for tenant endpoints that are not ipn EIDs, at most. */
export const KEPT_RESULTS_MAX = 10_000;
const METRICS_INTERVAL_MS_DEFAULT = 5_000;

export interface GroundAgentParts {
  readonly station: Station;
  /** The station's ipn node number (its BundleAgent's). */
  readonly stationIpn: number;
  readonly agent: BundleAgent;
  /** The overlay peers whose always-on contacts `setPlan` adds to a new plan. */
  readonly overlay: readonly OverlayPeer[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly mqtt?: GroundMqttClient | undefined;
  readonly passPublisher?: PassPublisher | undefined;
  readonly receiptGateway?: ReceiptGateway | undefined;
  readonly blackouts?: BlackoutForwarder | undefined;
  readonly executor?: TerrestrialExecutor | undefined;
  /** Where results for non-DTN tenant endpoints are kept. */
  readonly resultsDir: string;
  readonly metricsIntervalMs?: number | undefined;
}

export interface GroundAgentStats {
  readonly bundles: BundleAgentMetrics;
  readonly resultsForwarded: number;
  readonly resultsKept: number;
  readonly resultsRefused: number;
  readonly telemetryPublished: number;
  readonly telemetryRefused: number;
}

const GAUGES: readonly (keyof BundleAgentMetrics)[] = [
  'storedBundles', 'storedBytes', 'queuedBytes', 'inFlightBundles', 'localBundles', 'bundlesReceived', 'bundlesForwarded', 'bundlesDelivered',
  'bundlesRefused', 'bundlesExpired', 'sendFailures', 'contactsGivenUp',
];

export class GroundAgent {
  readonly #parts: GroundAgentParts;
  readonly #log: Logger;
  #running = false;
  #unregister: (() => void)[] = [];
  #metricsTimer: TimerHandle | undefined;
  readonly #gauges: Map<keyof BundleAgentMetrics, GaugeMetric> = new Map();
  readonly #counts = { resultsForwarded: 0, resultsKept: 0, resultsRefused: 0, telemetryPublished: 0, telemetryRefused: 0 };

  constructor(parts: GroundAgentParts) {
    this.#parts = parts;
    this.#log = parts.logger.child({ component: 'ground-agent', station: parts.station.id });
    for (const name of GAUGES) {
      const metric = parts.metrics?.gauge(`orbitfed_ground_bundle_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, `the station's bundle agent: ${name}`);
      if (metric !== undefined) this.#gauges.set(name, metric);
    }
  }

  get agent(): BundleAgent {
    return this.#parts.agent;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The station's node ID (ipn:N.0). */
  get nodeEid(): string {
    return formatEid(this.#parts.agent.nodeId);
  }

  /** Starts the bundle agent (store, CLs, routing), then the applications on it, then MQTT. */
  async start(): Promise<void> {
    const p = this.#parts;
    mkdirSync(p.resultsDir, { recursive: true });
    await p.agent.start();
    this.#running = true;
    try {
      if (p.receiptGateway !== undefined) {
        const gateway = p.receiptGateway;
        gateway.start();
        this.#unregister.push(p.agent.register(SERVICE_NUMBERS.receipts, (d) => void gateway.accept(d.payload, formatEid(d.source))));
      }
      if (p.executor !== undefined) {
        const executor = p.executor;
        executor.start();
        this.#unregister.push(p.agent.register(SERVICE_NUMBERS.assignments, (d) => executor.onAssignment(d)));
      }
      this.#unregister.push(p.agent.register(SERVICE_NUMBERS.results, (d) => this.#onResult(d)));
      if (p.mqtt !== undefined) this.#unregister.push(p.agent.register(SERVICE_NUMBERS.telemetry, (d) => this.#onTelemetry(d)));
      p.blackouts?.start();
      p.mqtt?.start();
      p.passPublisher?.start();
      this.#refreshMetrics();
      this.#log.info({ node: this.nodeEid, mqtt: p.mqtt !== undefined, receipts: p.receiptGateway !== undefined, jobs: p.executor !== undefined }, 'ground agent running');
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops in reverse order; the bundle store is left as a crash would leave it (nothing to flush). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    const p = this.#parts;
    this.#metricsTimer?.cancel();
    this.#metricsTimer = undefined;
    p.passPublisher?.stop();
    await p.mqtt?.stop();
    await p.blackouts?.stop();
    await p.executor?.stop();
    await p.receiptGateway?.stop();
    for (const unregister of this.#unregister) unregister();
    this.#unregister = [];
    await p.agent.stop();
    this.#log.info({}, 'ground agent stopped');
  }

  /** A new federation plan: the bundle agent re-routes everything on it (plus the overlay contacts). */
  setPlan(plan: ContactPlan, planEpochMs?: number): void {
    this.#parts.agent.setPlan(withOverlayContacts(plan, this.#parts.stationIpn, this.#parts.overlay, this.#parts.station.id), planEpochMs);
  }

  stats(): GroundAgentStats {
    return { bundles: this.#parts.agent.metrics(), ...this.#counts };
  }

  #refreshMetrics(): void {
    if (!this.#running) return;
    if (this.#gauges.size > 0) {
      const m = this.#parts.agent.metrics();
      for (const [name, gauge] of this.#gauges) gauge.set(m[name]);
    }
    this.#metricsTimer = this.#parts.clock.setTimer((this.#parts.metricsIntervalMs ?? METRICS_INTERVAL_MS_DEFAULT) as DurationMs, () => this.#refreshMetrics());
  }

  /**
   * A node's result delivered here: checked strictly, then delivered to its tenant endpoint (a new
   * bundle stored in the same transaction as this delivery), or kept as a file. Unreadable results
   * are consumed and counted: no retry can make them readable.
   */
  #onResult(delivery: Delivery): void {
    let signed;
    try {
      signed = decodeJobResult(delivery.payload);
    } catch (error) {
      this.#counts.resultsRefused += 1;
      this.#log.warn({ bundle: delivery.key, source: formatEid(delivery.source), code: (error as { code?: string }).code, error: (error as Error).message }, 'malformed result refused');
      return;
    }
    const r = signed.result;
    let endpoint;
    try {
      endpoint = parseEid(r.tenantEndpoint);
    } catch {
      endpoint = undefined;
    }
    if (endpoint?.kind === 'ipn') {
      this.#parts.agent.send({ destination: endpoint, payload: delivery.payload, lifetimeMs: Math.max(60_000, delivery.bundle.primary.lifetimeMs) });
      this.#counts.resultsForwarded += 1;
      this.#log.info({ jobId: r.jobId, node: r.nodeId, to: r.tenantEndpoint, sizeBytes: r.bytes.length }, 'result delivered to its tenant endpoint');
      return;
    }
    if (this.#counts.resultsKept >= KEPT_RESULTS_MAX) throw new Error(`${KEPT_RESULTS_MAX} results are kept already; this one waits in the bundle store`);
    const file = join(this.#parts.resultsDir, `${r.jobId}.${r.assignmentId}.json`.replaceAll(':', '_'));
    replaceFileDurably(file, JSON.stringify({ ...r, bytes: Buffer.from(r.bytes).toString('base64'), signature: Buffer.from(signed.signature).toString('hex') }));
    this.#counts.resultsKept += 1;
    this.#log.info({ jobId: r.jobId, node: r.nodeId, file, tenantEndpoint: r.tenantEndpoint }, 'result kept at the station');
  }

  #onTelemetry(delivery: Delivery): void {
    try {
      const t = decodeTelemetryPayload(delivery.payload);
      this.#parts.mqtt!.publishTelemetry({ source: 'satellite', node: t.nodeId, timeMs: unixMs(t.atMs), values: t.housekeeping });
      this.#counts.telemetryPublished += 1;
    } catch (error) {
      this.#counts.telemetryRefused += 1;
      this.#log.warn({ bundle: delivery.key, code: (error as { code?: string }).code, error: (error as Error).message }, 'telemetry not published');
    }
  }
}
