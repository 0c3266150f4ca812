// Writes text chunks to a stream or a file, honouring backpressure. A file is written beside its
// destination and renamed into place, so an interrupted run never leaves half a file behind.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { OrbitfedError } from '../common/index.ts';

async function writeAll(stream: Writable, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
}

export async function writeChunksToStream(stream: Writable, chunks: Iterable<string>): Promise<void> {
  await writeAll(stream, chunks);
}

export async function writeChunksToFile(path: string, chunks: Iterable<string>): Promise<void> {
  const temporary = `${path}.${process.pid}.partial`;
  const stream = createWriteStream(temporary, { flags: 'wx' });
  try {
    await once(stream, 'open');
    await writeAll(stream, chunks);
    stream.end();
    await once(stream, 'finish');
    await rename(temporary, path);
  } catch (cause) {
    stream.destroy();
    await rm(temporary, { force: true });
    throw new OrbitfedError('ORBITFED_OUTPUT_WRITE', `cannot write ${path}: ${(cause as Error).message}`, { file: path }, { cause });
  }
}
