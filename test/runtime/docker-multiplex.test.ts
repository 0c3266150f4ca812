// Docker's multiplexed attach stream (Engine API "Attach to a container", stream format):
// 8-byte header [type, 0, 0, 0, size uint32 BE], then the payload.
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { DockerStreamDemultiplexer } from '../../runtime/docker-multiplex.ts';

function frame(type: number, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

function demux(chunks: readonly Buffer[]): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  const d = new DockerStreamDemultiplexer((stream, bytes) => { out[stream] += bytes.toString(); });
  for (const chunk of chunks) d.push(chunk);
  d.end();
  return out;
}

describe('the Docker stream demultiplexer', () => {
  const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(0, 'stdin echo'), frame(1, 'world\n'), frame(1, '')]);

  it('splits stdout and stderr frames and drops stdin frames', () => {
    expect(demux([wire])).toEqual({ stdout: 'hello world\n', stderr: 'oops\n' });
  });

  it('gives the same result however the bytes are split', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      expect(demux([wire.subarray(0, cut), wire.subarray(cut)]), `cut at ${cut}`).toEqual({ stdout: 'hello world\n', stderr: 'oops\n' });
    }
    expect(demux([...wire].map((b) => Buffer.of(b)))).toEqual({ stdout: 'hello world\n', stderr: 'oops\n' });
  });

  it('passes a frame\'s payload on as it arrives, without buffering it whole', () => {
    const pieces: string[] = [];
    const d = new DockerStreamDemultiplexer((_, bytes) => pieces.push(bytes.toString()));
    const big = frame(1, 'abcdef');
    d.push(big.subarray(0, 10));
    d.push(big.subarray(10));
    expect(pieces).toEqual(['ab', 'cdef']);
  });

  it('refuses an unknown stream type or non-zero padding, naming the offset', () => {
    const bad = Buffer.concat([frame(1, 'ok'), frame(7, 'x')]);
    expect(() => demux([bad])).toThrow(OrbitfedError);
    expect(() => demux([bad])).toThrow(/byte 10/);
    const padded = frame(1, 'x');
    padded[2] = 1;
    expect(() => demux([padded])).toThrow(/not a multiplexed frame header/);
  });

  it('refuses a stream that ends inside a header or a payload', () => {
    expect(() => demux([frame(1, 'hello').subarray(0, 9)])).toThrow(/ended inside a frame/);
    expect(() => demux([frame(1, 'hello').subarray(0, 4)])).toThrow(/ended inside a frame/);
  });
});
