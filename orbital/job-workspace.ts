// The work directory of one job on the node: created empty (0700) under `<dataDir>/jobs` before
// the workload starts, holding `input` (the inline input or the parts in order), where the workload
// may write `result`; removed once the job's ending is recorded. Directory and workload names come
// from the SHA-256 of the assignment id (ids may hold ':', which a runtime's work directory and
// container name may not).
//
// The workload is not trusted: `result` is opened without following symbolic links and must be a
// regular file (else a job could make the agent send any file it can read), and its size is
// checked before it is read.
import { constants } from 'node:fs';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../consensus/node.ts';

export const INPUT_FILE = 'input';
export const RESULT_FILE = 'result';

/** A runtime-safe name for an assignment: "a-" and 32 hex digits of its SHA-256. */
export function workloadIdOf(assignmentId: string): string {
  return `a-${Buffer.from(sha256(new TextEncoder().encode(assignmentId))).toString('hex').slice(0, 32)}`;
}

export type ResultFile =
  | { readonly kind: 'absent' }
  | { readonly kind: 'read'; readonly bytes: Uint8Array }
  | { readonly kind: 'too-large'; readonly sizeBytes: number }
  | { readonly kind: 'not-a-file'; readonly detail: string };

export class JobWorkspace {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  dirOf(assignmentId: string): string {
    return join(this.#root, workloadIdOf(assignmentId));
  }

  /** Creates the job's directory afresh with its input file; returns the directory. */
  async prepare(assignmentId: string, input: readonly Uint8Array[]): Promise<string> {
    const dir = this.dirOf(assignmentId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, INPUT_FILE), input, { mode: 0o600 });
    return dir;
  }

  /** The `result` file the workload wrote, read only if it is a regular file of at most `bytesMax`. */
  async readResult(assignmentId: string, bytesMax: number): Promise<ResultFile> {
    const path = join(this.dirOf(assignmentId), RESULT_FILE);
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT') return { kind: 'absent' };
      return { kind: 'not-a-file', detail: code === 'ELOOP' ? 'result is a symbolic link' : `result cannot be opened: ${(error as Error).message}` };
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return { kind: 'not-a-file', detail: 'result is not a regular file' };
      if (stat.size > bytesMax) return { kind: 'too-large', sizeBytes: stat.size };
      const bytes = await handle.readFile();
      return bytes.length > bytesMax ? { kind: 'too-large', sizeBytes: bytes.length } : { kind: 'read', bytes: new Uint8Array(bytes) };
    } finally {
      await handle.close();
    }
  }

  async remove(assignmentId: string): Promise<void> {
    await rm(this.dirOf(assignmentId), { recursive: true, force: true });
  }

  /** Removes every job directory but those of `keep` (after a restart: what crashed runs left). */
  async removeAllBut(keep: readonly string[]): Promise<number> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const kept = new Set(keep.map(workloadIdOf));
    let removed = 0;
    for (const name of await readdir(this.#root)) {
      if (kept.has(name)) continue;
      await rm(join(this.#root, name), { recursive: true, force: true });
      removed += 1;
    }
    return removed;
  }
}
