// `orbitfed route` as a user runs it, on the reference plans of HDTN and ION.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './run-cli.ts';

const plan = (name: string): string => fileURLToPath(new URL(`../fixtures/contact-plans/${name}`, import.meta.url));

const run = (args: string[]): Promise<CliRun> => runCli(['route', ...args]);

describe('orbitfed route', () => {
  it('prints the tutorial plan routes best first: 3 via 1→3→4→5, then 4, 11, 31, 31, 51, 51', async () => {
    const { code, stdout } = await run(['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '5', '--at', '0', '--k', '7']);
    expect(code).toBe(0);
    const { routes } = JSON.parse(stdout) as { routes: { arrival: number; hops: { from: number; to: number; start: number; end: number }[] }[] };
    expect(routes.map((r) => r.arrival)).toEqual([3, 4, 11, 31, 31, 51, 51]);
    expect(routes[0]!.hops.map((h) => [h.from, h.to])).toEqual([[1, 3], [3, 4], [4, 5]]);
    expect(Object.keys(routes[0]!.hops[0]!)).toEqual(['from', 'to', 'start', 'end']);
  });

  it('routes 1→4 of HDTN\'s routing test via node 2', async () => {
    const { stdout } = await run(['--plan', plan('hdtn-contactPlan_RoutingTest.json'), '--from', '1', '--to', '4', '--at', '0']);
    const { routes } = JSON.parse(stdout) as { routes: { hops: { to: number }[] }[] };
    expect(routes[0]!.hops[0]!.to).toBe(2);
  });

  it('routes through ION\'s Mars relay, counting the 324 s light time and the bundle\'s transmission time', async () => {
    const small = JSON.parse((await run(['--plan', plan('ion-mars-relay.ionrc'), '--from', '9', '--to', '1', '--at', '0'])).stdout);
    const large = JSON.parse((await run(['--plan', plan('ion-mars-relay.ionrc'), '--from', '9', '--to', '1', '--at', '0', '--size', '100000'])).stdout);
    expect(small.routes).toHaveLength(1);
    expect(large.routes[0].arrival).toBeGreaterThan(small.routes[0].arrival);
  });

  it('prints no routes, and says so, when the destination cannot be reached in time', async () => {
    const { code, stdout, stderr } = await run(['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '5', '--at', '0', '--deadline', '2']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ routes: [] });
    expect(stderr).toContain('no route');
  });

  describe('refuses bad input with a message naming what was wrong', () => {
    const cases: [string, string[], RegExp][] = [
      ['a missing --plan', ['--from', '1', '--to', '5', '--at', '0'], /--plan is required/],
      ['an unknown node', ['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '99', '--at', '0'], /--to '99' is not a node of the plan/],
      ['a time that is not a number', ['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '5', '--at', 'noon'], /--at/],
      ['an ISO time on a plan without absolute time', ['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '5', '--at', '2026-06-14T00:00:00Z'], /no absolute time base/],
      ['too many routes', ['--plan', plan('hdtn-cgrTutorial.json'), '--from', '1', '--to', '5', '--at', '0', '--k', '1000'], /--k must be a number from 1 to 64/],
      ['a missing plan file', ['--plan', '/nonexistent/plan.json', '--from', '1', '--to', '5', '--at', '0'], /\/nonexistent\/plan\.json/],
      ['a malformed ION plan', ['--plan', plan('malformed/ion-negative-rate.ionrc'), '--from', '1', '--to', '5', '--at', '0'], /ion-negative-rate\.ionrc:\d+/],
      ['a plan whose hash does not match', ['--plan', plan('malformed/plan-hash-mismatch.json'), '--from', '1', '--to', '5', '--at', '0'], /ORBITFED_PLAN_HASH/],
    ];
    for (const [what, args, message] of cases) {
      it(`for ${what}`, async () => {
        const { code, stderr } = await run(args);
        expect(code).toBe(2);
        expect(stderr).toMatch(message);
        expect(stderr).not.toMatch(/\n\s+at /);
      });
    }
  });
});
