// A virtual run's report: the real run's report.json and report.html (scenario-report.ts) with what
// makes the run replayable added — the seed, the trace hash, the random faults the seed drew, the
// validators' message faults — and the command that replays it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from './scenario-checks.ts';
import { reportHtml, reportJson, scenarioReport, type ScenarioReport } from './scenario-report.ts';
import type { VirtualRunResult } from './virtual-run.ts';

export interface VirtualReport extends ScenarioReport {
  readonly mode: 'virtual';
  readonly seed: number;
  readonly traceHash: string;
  readonly traceEvents: number;
  readonly randomFaults: { readonly kinds: readonly string[]; readonly faults: VirtualRunResult['swarmFaults'] };
  readonly validatorNetwork: VirtualRunResult['validatorNetwork'];
  readonly replay: string;
}

/** The command that runs the same scenario and seed again. */
export function replayCommand(scenarioPath: string, seed: number, randomFaults: boolean): string {
  return `orbitfed hil run ${scenarioPath} --virtual --seed ${seed}${randomFaults ? '' : ' --no-random-faults'}`;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function writeVirtualReport(result: VirtualRunResult, checks: readonly CheckResult[], randomFaults: boolean): { report: VirtualReport; jsonPath: string; htmlPath: string } {
  const { record } = result;
  const report: VirtualReport = {
    ...scenarioReport(record, checks), mode: 'virtual', seed: result.seed, traceHash: result.traceHash, traceEvents: result.traceEvents,
    randomFaults: { kinds: result.swarmKinds, faults: result.swarmFaults }, validatorNetwork: result.validatorNetwork,
    replay: replayCommand(record.scenario.path, result.seed, randomFaults),
  };
  const jsonPath = join(record.dir, 'report.json');
  const htmlPath = join(record.dir, 'report.html');
  writeFileSync(jsonPath, reportJson(report));
  const network = result.validatorNetwork;
  const banner = `<p>Virtual-time run (one process, simulated links and workloads): seed <code>${result.seed}</code>, trace hash <code>${result.traceHash}</code> `
    + `(${result.traceEvents} events, trace.jsonl). Random faults: ${result.swarmFaults.length} (${escapeHtml(result.swarmKinds.join(', ') || 'none')}); `
    + `validator messages lost ${(network.dropProbability * 100).toFixed(1)} %, duplicated ${(network.duplicateProbability * 100).toFixed(1)} %, delayed ${network.delayMsMin}–${network.delayMsMax} ms. `
    + `Replay: <code>${escapeHtml(report.replay)}</code></p>`;
  // After the heading, the one place the real report has for the run's identity.
  writeFileSync(htmlPath, reportHtml(report, record).replace('</h1>', `</h1>\n${banner}`));
  return { report, jsonPath, htmlPath };
}
