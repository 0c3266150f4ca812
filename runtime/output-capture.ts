// One output stream of a workload, bounded (STYLE rule 8): the first `bytesMax` bytes are kept
// and passed to the log sink as they arrive; the rest is only counted, so a workload writing
// without end neither fills our memory nor blocks on a full pipe.
import type { CapturedOutput, WorkloadLogChunk, WorkloadStream } from './workload-runtime.ts';

export class OutputCapture {
  readonly #workloadId: string;
  readonly #stream: WorkloadStream;
  readonly #bytesMax: number;
  readonly #onLog: ((chunk: WorkloadLogChunk) => void) | undefined;
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  #totalBytes = 0;
  #sinkFailed = false;

  constructor(workloadId: string, stream: WorkloadStream, bytesMax: number, onLog?: (chunk: WorkloadLogChunk) => void) {
    this.#workloadId = workloadId;
    this.#stream = stream;
    this.#bytesMax = bytesMax;
    this.#onLog = onLog;
  }

  write(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    const room = this.#bytesMax - this.#keptBytes;
    if (room <= 0) return;
    // Copy: a chunk may be a view into a pooled buffer that is reused after this call.
    const kept = Buffer.from(chunk.subarray(0, room));
    this.#kept.push(kept);
    this.#keptBytes += kept.length;
    if (this.#onLog === undefined || this.#sinkFailed) return;
    try {
      this.#onLog({ workloadId: this.#workloadId, stream: this.#stream, bytes: kept });
    } catch {
      // A failing sink must not end the workload or lose its captured output: stop calling it.
      this.#sinkFailed = true;
    }
  }

  /** Whether the log sink threw (it is not called again after that). */
  get sinkFailed(): boolean {
    return this.#sinkFailed;
  }

  result(): CapturedOutput {
    return { bytes: Buffer.concat(this.#kept, this.#keptBytes), totalBytes: this.#totalBytes, truncated: this.#totalBytes > this.#keptBytes };
  }
}
