// Docker's multiplexed stdout/stderr stream (Engine API, "Attach to a container": a container
// without a TTY sends frames of an 8-byte header — stream type 0/1/2, three zero bytes, the
// payload length as a big-endian uint32 — followed by the payload). Decoded incrementally: a
// payload is passed on in the pieces it arrives in, so nothing but the 8 header bytes is ever
// buffered, whatever length a frame claims.
import { OrbitfedError } from '../common/index.ts';
import type { WorkloadStream } from './workload-runtime.ts';

const HEADER_BYTES = 8;
const STREAM_TYPES: ReadonlyMap<number, WorkloadStream | 'stdin'> = new Map([[0, 'stdin'], [1, 'stdout'], [2, 'stderr']]);

export class DockerStreamDemultiplexer {
  readonly #deliver: (stream: WorkloadStream, bytes: Buffer) => void;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFilled = 0;
  #payloadLeft = 0;
  #payloadStream: WorkloadStream | 'stdin' = 'stdout';
  #offset = 0;

  constructor(deliver: (stream: WorkloadStream, bytes: Buffer) => void) {
    this.#deliver = deliver;
  }

  /** Feeds received bytes; throws `ORBITFED_RUNTIME_DOCKER_STREAM` on a malformed header. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#payloadLeft === 0) {
        const take = Math.min(HEADER_BYTES - this.#headerFilled, chunk.length - at);
        chunk.copy(this.#header, this.#headerFilled, at, at + take);
        this.#headerFilled += take;
        at += take;
        if (this.#headerFilled < HEADER_BYTES) return;
        this.#startFrame();
        continue;
      }
      const take = Math.min(this.#payloadLeft, chunk.length - at);
      if (this.#payloadStream !== 'stdin') this.#deliver(this.#payloadStream, chunk.subarray(at, at + take));
      this.#payloadLeft -= take;
      this.#offset += take;
      at += take;
    }
  }

  /** Throws when the stream ended inside a frame. */
  end(): void {
    if (this.#headerFilled !== 0 || this.#payloadLeft !== 0) {
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER_STREAM', `the output stream ended inside a frame (${this.#payloadLeft} payload bytes missing)`, { field: `byte ${this.#offset}` });
    }
  }

  #startFrame(): void {
    const type = this.#header[0]!;
    const stream = STREAM_TYPES.get(type);
    if (stream === undefined || this.#header[1] !== 0 || this.#header[2] !== 0 || this.#header[3] !== 0) {
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER_STREAM', `not a multiplexed frame header: ${this.#header.toString('hex')}`, { field: `byte ${this.#offset}` });
    }
    this.#payloadStream = stream;
    this.#payloadLeft = this.#header.readUInt32BE(4);
    this.#headerFilled = 0;
    this.#offset += HEADER_BYTES;
  }
}
