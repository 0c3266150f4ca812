// The orbital agent with the Docker runtime, as the demo runs it: on a plan-time clock many times
// faster than the wall (here 600×), next to other agents on the same Docker host. Needs a Docker
// engine (test/runtime/docker-setup.sh starts one); skipped loudly without.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../common/index.ts';
import { ContactPlan } from '../../contact-plans/index.ts';
import { OrbitalService } from '../../orbital/index.ts';
import { NODE_SEED } from './assignment-fixtures.ts';
import { agentConfigFile, freePort, linkContacts, planText, recordingLogger, scratchDirectory } from './orbital-harness.ts';

const run = promisify(execFile);
const SETUP = fileURLToPath(new URL('../runtime/docker-setup.sh', import.meta.url));
const IMAGE = 'orbitfed-busybox:test';
const SCALE = 600;
const engine = await run('bash', [SETUP], { timeout: 240_000 }).then(({ stdout }) => /^ready /m.test(stdout) ? 'ready' : stdout.trim(), (error: Error) => error.message);
if (engine !== 'ready') {
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPING THE ORBITAL AGENT'S DOCKER TESTS: no Docker engine can run here.\n!!! ${engine.slice(0, 500)}\n${'!'.repeat(100)}\n`);
}

const docker = async (...args: string[]): Promise<string> => (await run('docker', args)).stdout.trim();
const containersOf = (owner: string): Promise<string> => docker('ps', '-aq', '--filter', `label=orbitfed.owner=${owner}`);

let dir = '';
let service: OrbitalService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe.runIf(engine === 'ready')(`the orbital agent with the Docker runtime on a plan clock at ${SCALE}×`, () => {
  it('starts on the fast plan clock, and at start removes its own leftover containers only, not another agent\'s', async () => {
    const nodeId = `sat-${process.pid}`;
    const mine = `orbitfed-${nodeId}`;
    const neighbour = `orbitfed-sat-${process.pid}-b`;
    // What a crashed run of this agent left, and a workload of another agent on the same host.
    await docker('run', '-d', '--label', `orbitfed.owner=${mine}`, '--network', 'none', IMAGE, 'sleep', '300');
    await docker('run', '-d', '--label', `orbitfed.owner=${neighbour}`, '--network', 'none', IMAGE, 'sleep', '300');
    try {
      const clock = ScaledClock.startingNow(Date.parse('2026-06-14T10:00:00Z'), SCALE);
      dir = await scratchDirectory('orbitfed-orbital-docker-');
      writeFileSync(join(dir, 'plan.json'), planText(new ContactPlan({ epochMs: clock.now() - 1_000, nodes: [], contacts: linkContacts(0, 86_400) })));
      writeFileSync(join(dir, 'node.key'), `${Buffer.from(NODE_SEED).toString('hex')}\n`, { mode: 0o600 });
      const configPath = join(dir, 'orbital-agent.json');
      writeFileSync(configPath, JSON.stringify(agentConfigFile(await freePort(), await freePort(), {
        nodeId, runtime: { kind: 'docker' }, heartbeatPeriodMs: 0, telemetryPeriodMs: 0,
      })));
      service = new OrbitalService({ configPath, clock, logger: recordingLogger() });
      await service.start();
      expect(await containersOf(mine)).toBe('');
      expect(await containersOf(neighbour)).not.toBe('');
    } finally {
      for (const owner of [mine, neighbour]) {
        const ids = await containersOf(owner);
        if (ids !== '') await docker('rm', '-f', ...ids.split('\n'));
      }
    }
  });
});
