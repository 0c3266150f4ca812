// Reading an input file whole, with a size limit checked before a byte is read: the one way
// orbitfed's loaders (element sets, stations, contact plans) read files.
import { open, type FileHandle } from 'node:fs/promises';
import { OrbitfedError } from './errors.ts';

export interface BoundedFileRead {
  /** What the file is, for messages: "element file", "stations file", "contact plan". */
  readonly what: string;
  readonly maxBytes: number;
  /** Code when the file cannot be read (missing, permissions, a directory). */
  readonly readCode: string;
  /** Code when it is larger than `maxBytes`. */
  readonly tooLargeCode: string;
  readonly signal?: AbortSignal | undefined;
}

/** Why a read failed, in words people know. */
function readFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

/** The file's bytes; OrbitfedError naming the path when it is missing, unreadable or too large. */
export async function readBoundedFile(path: string, spec: BoundedFileRead): Promise<Buffer> {
  spec.signal?.throwIfAborted();
  let handle: FileHandle | undefined;
  try {
    // Size check and read go through one handle, so they see the same file even if the path is replaced.
    handle = await open(path, 'r');
    const tooLarge = (size: number): OrbitfedError =>
      new OrbitfedError(spec.tooLargeCode, `${spec.what} is ${size} bytes; at most ${spec.maxBytes} are read`, { file: path });
    const { size } = await handle.stat();
    if (size > spec.maxBytes) throw tooLarge(size);
    const bytes = await handle.readFile({ signal: spec.signal });
    // The file may have grown between stat and read.
    if (bytes.length > spec.maxBytes) throw tooLarge(bytes.length);
    return bytes;
  } catch (error) {
    if (error instanceof OrbitfedError || spec.signal?.aborted === true) throw error;
    throw new OrbitfedError(spec.readCode, `cannot read ${spec.what}: ${readFailure(error)}`, { file: path }, { cause: error });
  } finally {
    await handle?.close();
  }
}

/**
 * The file as UTF-8 text, refusing bytes that are not UTF-8 (with `invalidTextCode`): a name with
 * mangled bytes is better refused than silently replaced with U+FFFD.
 */
export async function readBoundedTextFile(path: string, spec: BoundedFileRead & { readonly invalidTextCode: string }): Promise<string> {
  const bytes = await readBoundedFile(path, spec);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new OrbitfedError(spec.invalidTextCode, 'not valid UTF-8 text', { file: path }, { cause: error });
  }
}
