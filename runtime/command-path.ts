// Finding the program a workload names, as execvp(3) would, before anything is started: a missing
// program is refused with its name and the PATH searched, instead of surfacing as exit code 127.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { OrbitfedError } from '../common/index.ts';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const stats = await stat(path);
    // access(X_OK) alone says yes to root for any file; execve needs an execute bit set.
    if (!stats.isFile() || (stats.mode & 0o111) === 0) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `name`: taken as a path (against `cwd`) when it has a '/', otherwise
 * looked up in each directory of `pathEnv` in order. `ORBITFED_RUNTIME_COMMAND_NOT_FOUND` if none is
 * an executable file.
 */
export async function resolveCommand(name: string, pathEnv: string, cwd: string): Promise<string> {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? name : resolve(cwd, name);
    if (await isExecutableFile(path)) return path;
    throw new OrbitfedError('ORBITFED_RUNTIME_COMMAND_NOT_FOUND', `${path} is not an executable file`, { field: 'command[0]' });
  }
  for (const dir of pathEnv.split(':')) {
    // POSIX: an empty PATH entry means the current directory.
    const candidate = join(dir === '' ? cwd : resolve(cwd, dir), name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new OrbitfedError('ORBITFED_RUNTIME_COMMAND_NOT_FOUND', `command ${JSON.stringify(name)} is not in PATH ${JSON.stringify(pathEnv)}`, { field: 'command[0]' });
}
