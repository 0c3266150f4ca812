// A one-line progress bar on a terminal, shown only once a job has run for a second (short runs
// stay quiet) and only when the stream is a TTY (pipes and logs get no control characters).
import { durationMs, type Clock, type TimerHandle } from '../common/index.ts';

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const SHOW_AFTER_MS = durationMs(1000);
const BAR_WIDTH_CHARS = 30;

export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #timer: TimerHandle | undefined;
  #visible = false;
  #done = 0;
  #total = 0;

  constructor(stream: ProgressStream, clock: Clock, label: string) {
    this.#stream = stream;
    this.#label = label;
    this.#timer = stream.isTTY === true ? clock.setTimer(SHOW_AFTER_MS, () => this.#show()) : undefined;
  }

  update(done: number, total: number): void {
    this.#done = done;
    this.#total = total;
    if (this.#visible) this.#draw();
  }

  finish(): void {
    this.#timer?.cancel();
    if (this.#visible) this.#stream.write('\r\x1b[2K');
    this.#visible = false;
  }

  #show(): void {
    this.#visible = true;
    this.#draw();
  }

  #draw(): void {
    const fraction = this.#total === 0 ? 0 : this.#done / this.#total;
    const filled = Math.round(fraction * BAR_WIDTH_CHARS);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH_CHARS - filled)}`;
    this.#stream.write(`\r${this.#label} [${bar}] ${this.#done}/${this.#total} ${(fraction * 100).toFixed(0)}%`);
  }
}
