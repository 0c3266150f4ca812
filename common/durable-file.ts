// Small files replaced so that a crash or power loss leaves either the old content or the new one
// (ARCHITECTURE: "atomic rename for snapshots"): write beside the file, fsync it, rename it into
// place, then fsync the directory so the rename itself is on disk (POSIX rename(2) is atomic, but
// durable only once the directory is synced). Errors are the file system's; callers name them.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes the directory entry of `path` (a creation or a rename) durable: fsync on its directory. */
export function syncDirectoryOf(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with `contents` durably, through `<path>.tmp` (created with `mode`). */
export function replaceFileDurably(path: string, contents: string, mode = 0o666): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', mode);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectoryOf(path);
}
