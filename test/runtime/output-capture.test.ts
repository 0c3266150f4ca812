// A workload's output stream, bounded: the first bytes kept and streamed, the rest counted.
import { describe, expect, it } from 'vitest';
import { OutputCapture } from '../../runtime/output-capture.ts';

describe('bounded output capture', () => {
  it('keeps and streams exactly bytesMax bytes across chunk boundaries, and counts all', () => {
    const seen: string[] = [];
    const capture = new OutputCapture('job', 'stdout', 5, (chunk) => seen.push(`${chunk.workloadId}/${chunk.stream}:${chunk.bytes.toString()}`));
    for (const piece of ['abc', 'def', 'ghi']) capture.write(Buffer.from(piece));
    expect(capture.result()).toEqual({ bytes: Buffer.from('abcde'), totalBytes: 9, truncated: true });
    expect(seen).toEqual(['job/stdout:abc', 'job/stdout:de']);
  });

  it('does not flag output that fits exactly', () => {
    const capture = new OutputCapture('job', 'stderr', 3);
    capture.write(Buffer.from('abc'));
    expect(capture.result()).toEqual({ bytes: Buffer.from('abc'), totalBytes: 3, truncated: false });
  });

  it('keeps capturing when the log sink throws, and stops calling it', () => {
    let calls = 0;
    const capture = new OutputCapture('job', 'stdout', 100, () => {
      calls++;
      throw new Error('sink broke');
    });
    capture.write(Buffer.from('one'));
    capture.write(Buffer.from('two'));
    expect(calls).toBe(1);
    expect(capture.sinkFailed).toBe(true);
    expect(capture.result().bytes.toString()).toBe('onetwo');
  });

  it('copies what it keeps, so a reused buffer cannot change it', () => {
    const capture = new OutputCapture('job', 'stdout', 100);
    const pooled = Buffer.from('first');
    capture.write(pooled);
    pooled.write('XXXXX');
    expect(capture.result().bytes.toString()).toBe('first');
  });
});
