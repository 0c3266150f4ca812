// `orbitfed plan` as a user runs it: a plan from the bundled sample, in every format, that reads
// back to the same plan and routes.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { loadContactPlanFile } from '../../contact-plans/plan-file.ts';

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const SAMPLE = ['--elements', repo('samples/elements.tle'), '--stations', repo('samples/stations.yaml'), '--start', '2026-06-14T00:00:00Z', '--hours', '6'];

const run = runCli;

describe('orbitfed plan', () => {
  it('writes the same plan as orbitfed JSON, ION and HDTN, each reading back to it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-plan-'));
    const json = await run(['plan', ...SAMPLE, '--isl', '--ground-mesh', '125000000', '--out', join(dir, 'plan.json')]);
    expect(json.code).toBe(0);
    expect(json.stderr).toMatch(/plan [0-9a-f]{12}: \d+ contacts between 20 nodes \(\d+ passes, \d+ inter-satellite windows\)/);
    const plan = await loadContactPlanFile(join(dir, 'plan.json'));
    expect(plan.epochMs).toBe(Date.UTC(2026, 5, 14));
    expect(plan.nodes.filter((n) => n.kind === 'ground').map((n) => n.id)).toEqual(['SVALBARD', 'KIRUNA', 'WALLOPS', 'HARTEBEESTHOEK', 'DONGARA', 'SANTIAGO']);
    expect(plan.contacts.some((c) => c.from > 1e9 && c.to > 1e9)).toBe(true);
    expect(plan.contacts.some((c) => c.from < 1e9 && c.to < 1e9)).toBe(true);

    for (const format of ['ion', 'hdtn'] as const) {
      const out = join(dir, `plan.${format}`);
      expect((await run(['plan', ...SAMPLE, '--isl', '--format', format, '--out', out])).code).toBe(0);
      const text = await readFile(out, 'utf8');
      if (format === 'ion') expect(text).toMatch(/^@ 2026\/06\/14-00:00:00$/m);
      else expect(JSON.parse(text).contacts[0]).toHaveProperty('rateBitsPerSec');
      const back = await loadContactPlanFile(out);
      // ION and HDTN keep whole seconds only: every contact is still there, within a second.
      const withoutMesh = plan.contacts.filter((c) => c.from > 1e9 || c.to > 1e9);
      expect(back.contacts).toHaveLength(withoutMesh.length);
    }
  });

  it('plans routes from a ground station to a satellite through the passes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-plan-'));
    expect((await run(['plan', ...SAMPLE, '--out', join(dir, 'plan.json')])).code).toBe(0);
    const route = await run(['route', '--plan', join(dir, 'plan.json'), '--from', 'SVALBARD', '--to', '25544', '--at', '2026-06-14T00:00:00Z', '--size', '100000']);
    expect(route.code).toBe(0);
    const { routes } = JSON.parse(route.stdout) as { routes: { arrival: number; hops: { from: number; to: number }[] }[] };
    expect(routes).toHaveLength(1);
    expect(routes[0]!.hops.at(-1)!.to).toBe(1_000_025_544);
    expect(routes[0]!.arrival).toBeGreaterThan(0);
    expect(routes[0]!.arrival).toBeLessThan(6 * 3600);
  });

  it('refuses bad options with a message naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [[...SAMPLE, '--format', 'xml'], /--format must be one of ion, hdtn, json/],
      [[...SAMPLE, '--isl-max-range', '0'], /--isl-max-range must be a number/],
      [[...SAMPLE, '--ground-mesh', 'fast'], /--ground-mesh must be a number/],
      [['--stations', repo('samples/stations.yaml')], /--elements FILE is required/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(['plan', ...args]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    }
  });
});
