// Each agent owns its own containers: a Docker runtime removes every container of its owner when it
// starts, so two agents on a host must not share one (runtime/docker-owner.ts).
import { describe, expect, it } from 'vitest';
import { DOCKER_OWNER_PATTERN, dockerOwnerOf } from '../../runtime/index.ts';

describe('dockerOwnerOf: the default owner of an agent\'s containers', () => {
  it('is orbitfed-<node id> when the id fits an owner as it is', () => {
    expect(dockerOwnerOf('sat-1')).toBe('orbitfed-sat-1');
    expect(dockerOwnerOf('svalbard')).toBe('orbitfed-svalbard');
  });

  it('keeps ids apart that differ only in case or in characters an owner cannot hold', () => {
    const ids = ['SAT-1', 'sat-1', 'Sat-1', 'sat:1', 'sat_1', 'SVALBARD', 'svalbard'];
    const owners = ids.map(dockerOwnerOf);
    expect(new Set(owners).size).toBe(ids.length);
    expect(dockerOwnerOf('SVALBARD')).toMatch(/^orbitfed-svalbard-[0-9a-f]{8}$/);
  });

  it('always gives a valid owner, also for the longest node ids, and the same one every time', () => {
    const longest = `A${'b:'.repeat(31)}c`;
    expect(longest).toHaveLength(64);
    for (const id of [longest, 'x'.repeat(64), 'sat.1', '9', 'a:b:c']) {
      expect(dockerOwnerOf(id)).toMatch(DOCKER_OWNER_PATTERN);
      expect(dockerOwnerOf(id)).toBe(dockerOwnerOf(id));
    }
    expect(dockerOwnerOf('x'.repeat(64))).not.toBe(dockerOwnerOf('x'.repeat(63)));
  });
});
