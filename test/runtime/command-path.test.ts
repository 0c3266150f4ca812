// Finding a workload's program as execvp(3) does, before anything starts.
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { resolveCommand } from '../../runtime/command-path.ts';

describe('resolving the command', () => {
  it('searches PATH in order and returns the absolute path', async () => {
    expect(await resolveCommand('sh', '/nonexistent:/bin', '/')).toBe('/bin/sh');
  });

  it('takes a name with a slash as a path, relative to the working directory', async () => {
    expect(await resolveCommand('./sh', '', '/bin')).toBe('/bin/sh');
    expect(await resolveCommand('/bin/sh', '', '/')).toBe('/bin/sh');
  });

  it('refuses a missing program, a directory and a file that is not executable, saying where it looked', async () => {
    const missing = await resolveCommand('no-such-program', '/bin:/usr/bin', '/').catch((e: OrbitfedError) => e);
    expect(missing).toMatchObject({ code: 'ORBITFED_RUNTIME_COMMAND_NOT_FOUND' });
    expect(String(missing)).toContain('/bin:/usr/bin');
    await expect(resolveCommand('/bin', '', '/')).rejects.toThrow(OrbitfedError);
    await expect(resolveCommand('/etc/passwd', '', '/')).rejects.toThrow(/not an executable file/);
  });
});
