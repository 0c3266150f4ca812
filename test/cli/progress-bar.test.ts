import { describe, expect, it } from 'vitest';
import { durationMs, unixMs, VirtualClock } from '../../common/index.ts';
import { ProgressBar } from '../../cli/progress-bar.ts';

function stream(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): void } {
  return { isTTY, text: '', write(t: string) { this.text += t; } };
}

describe('the progress bar', () => {
  it('stays quiet for the first second, then draws on a terminal and clears itself', () => {
    const clock = new VirtualClock(unixMs(0));
    const tty = stream(true);
    const bar = new ProgressBar(tty, clock, 'passes');
    bar.update(10, 100);
    clock.advance(durationMs(999));
    expect(tty.text).toBe('');
    clock.advance(durationMs(1));
    expect(tty.text).toContain('passes [###...');
    expect(tty.text).toContain('10/100 10%');
    bar.update(100, 100);
    expect(tty.text).toContain('100/100 100%');
    bar.finish();
    expect(tty.text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('never writes to a pipe or a file', () => {
    const clock = new VirtualClock(unixMs(0));
    const pipe = stream(false);
    const bar = new ProgressBar(pipe, clock, 'passes');
    bar.update(1, 2);
    clock.advance(durationMs(5_000));
    bar.finish();
    expect(pipe.text).toBe('');
  });
});
