// The node and job specs placement codes against (and the REST API validates bodies with): what
// the schemas refuse, what the rules after them refuse, and that each refusal names the field.
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { jobSpecProblems, nodeSpecProblems, parseJobSpec, parseNodeSpec } from '../../scheduler/index.ts';
import { EPOCH_MS, groundNode, jobAt, orbitalNode } from './placement-world.ts';

const NOW_MS = EPOCH_MS;

function fieldsOf(problems: readonly { field: string }[]): string[] {
  return problems.map((p) => p.field);
}

describe('node specs', () => {
  it('accepts a ground node and an orbital node as written', () => {
    expect(nodeSpecProblems(groundNode('gs-berlin', 1, 'DE'))).toEqual([]);
    expect(nodeSpecProblems(orbitalNode('sat-1', 1_000_025_544, 'US', 'US', { noradId: 25_544 }))).toEqual([]);
    expect(parseNodeSpec(groundNode('gs-berlin', 1, 'DE')).id).toBe('gs-berlin');
  });

  it('refuses codes that are not assigned ISO 3166-1 alpha-2 codes, with a hint for the United Kingdom', () => {
    const problems = nodeSpecProblems(groundNode('gs-london', 1, 'UK'));
    expect(problems).toEqual([
      { field: '/jurisdiction/country', message: '"UK" is not an assigned ISO 3166-1 alpha-2 code; the United Kingdom is "GB"' },
      { field: '/jurisdiction/operatorJurisdiction', message: '"UK" is not an assigned ISO 3166-1 alpha-2 code; the United Kingdom is "GB"' },
    ]);
    expect(fieldsOf(nodeSpecProblems(orbitalNode('sat-x', 2, 'XK', 'US')))).toEqual(['/jurisdiction/registry']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs-x', 1, 'de')))).toEqual(['/jurisdiction/country', '/jurisdiction/operatorJurisdiction']);
  });

  it('needs a country for ground nodes and a state of registry for orbital ones', () => {
    expect(fieldsOf(nodeSpecProblems({ ...groundNode('gs', 1, 'DE'), jurisdiction: {} }))).toEqual(['/jurisdiction/country']);
    expect(fieldsOf(nodeSpecProblems({ ...orbitalNode('sat', 2, 'DE', 'DE'), jurisdiction: { operatorJurisdiction: 'DE' } }))).toEqual(['/jurisdiction/registry']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1, 'DE', { noradId: 25_544 })))).toEqual(['/noradId']);
  });

  it('refuses blackouts that end before they start, unknown fields, bad ids, and out-of-range numbers', () => {
    const blackouts = [{ startMs: NOW_MS, endMs: NOW_MS }];
    expect(nodeSpecProblems(groundNode('gs', 1, 'DE', { blackouts }))).toEqual([{ field: '/blackouts/0/endMs', message: `must be after startMs (${NOW_MS}), got ${NOW_MS}` }]);
    expect(fieldsOf(nodeSpecProblems({ ...groundNode('gs', 1, 'DE'), colour: 'blue' }))).toEqual(['/colour']);
    expect(fieldsOf(nodeSpecProblems(groundNode('GS Berlin', 1, 'DE')))).toEqual(['/id']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1, 'DE', { resources: { cpu: -1, memoryBytes: 1, diskBytes: 0, gpu: 0 } })))).toEqual(['/resources/cpu']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1.5, 'DE')))).toEqual(['/ipn']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1, 'DE', { reputationPpm: 1_000_001 })))).toEqual(['/reputationPpm']);
    const attestation = { auditor: 'audit-a', attributes: {}, signature: 'zz'.repeat(64) };
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1, 'DE', { attestations: [attestation] })))).toEqual(['/attestations/0/signature']);
    expect(fieldsOf(nodeSpecProblems(groundNode('gs', 1, 'DE', { attestations: Array.from({ length: 17 }, () => ({ ...attestation, signature: '00'.repeat(64) })) })))).toEqual(['/attestations']);
  });

  it('throws ORBITFED_NODE_SPEC_INVALID naming the first field and listing every problem', () => {
    try {
      parseNodeSpec({ ...groundNode('gs', 1, 'UK'), ipn: -1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OrbitfedError);
      expect((error as OrbitfedError).code).toBe('ORBITFED_NODE_SPEC_INVALID');
      expect((error as OrbitfedError).location.field).toBe('/ipn');
    }
    expect(() => parseNodeSpec('not an object')).toThrow(/invalid node spec/);
  });
});

describe('job specs', () => {
  const job = jobAt('gs-berlin', NOW_MS, 2);

  it('accepts a job as written', () => {
    expect(jobSpecProblems(job, NOW_MS)).toEqual([]);
    expect(parseJobSpec(job, NOW_MS).name).toBe('test-job');
  });

  it('refuses unknown fields at any depth, wrong types and sizes beyond the limits', () => {
    expect(fieldsOf(jobSpecProblems({ ...job, priorty: 3 }, NOW_MS))).toEqual(['/priorty']);
    expect(fieldsOf(jobSpecProblems({ ...job, sovereignty: { atRest: ['DE'], downlink: { country: ['DE'] } } }, NOW_MS))).toEqual(['/sovereignty/downlink/country']);
    expect(fieldsOf(jobSpecProblems({ ...job, executionMs: '600000' }, NOW_MS))).toEqual(['/executionMs']);
    expect(fieldsOf(jobSpecProblems({ ...job, input: { sizeBytes: 2 ** 41, location: 'gs-berlin' } }, NOW_MS))).toEqual(['/input/sizeBytes']);
    expect(fieldsOf(jobSpecProblems({ ...job, command: Array.from({ length: 65 }, () => 'x') }, NOW_MS))).toEqual(['/command']);
    expect(fieldsOf(jobSpecProblems({ ...job, maxPriceMinor: { currency: 'eur', amount: 1 } }, NOW_MS))).toEqual(['/maxPriceMinor/currency']);
    expect(fieldsOf(jobSpecProblems({ ...job, result: { sizeBytes: 1, deliverTo: ['gs-a', 'gs-a'] } }, NOW_MS))).toEqual(['/result/deliverTo']);
  });

  it('refuses a deadline that is not in the future', () => {
    expect(jobSpecProblems({ ...job, deadlineMs: NOW_MS }, NOW_MS)).toEqual([{ field: '/deadlineMs', message: `${NOW_MS} is not in the future (now ${NOW_MS})` }]);
  });

  it('refuses country codes and regions it does not know, naming the entry', () => {
    const problems = jobSpecProblems({ ...job, sovereignty: { atRest: ['EU', 'UK'], processingFootprint: ['DE', 'EUR'] } }, NOW_MS);
    expect(problems).toEqual([
      { field: '/sovereignty/atRest/1', message: '"UK" is neither an assigned ISO 3166-1 alpha-2 code nor a region (EU, EEA); the United Kingdom is "GB"' },
      { field: '/sovereignty/processingFootprint/1', message: '"EUR" is neither an assigned ISO 3166-1 alpha-2 code nor a region (EU, EEA)' },
    ]);
  });

  it('needs an image or a command, each fitting its runtime, and nothing both wanted and avoided', () => {
    const noCommand = { ...job, command: undefined };
    expect(fieldsOf(jobSpecProblems({ ...noCommand, runtime: undefined }, NOW_MS))).toEqual(['/image']);
    expect(fieldsOf(jobSpecProblems({ ...job, runtime: 'docker' }, NOW_MS))).toEqual(['/image']);
    expect(fieldsOf(jobSpecProblems({ ...noCommand, image: 'registry.example/a:1', runtime: 'process' }, NOW_MS))).toEqual(['/command']);
    expect(fieldsOf(jobSpecProblems({ ...job, affinity: { nodes: ['a', 'b'] }, antiAffinity: { nodes: ['b'] } }, NOW_MS))).toEqual(['/affinity/nodes/1']);
  });

  it('throws ORBITFED_JOB_SPEC_INVALID naming the first field', () => {
    try {
      parseJobSpec({ ...job, deadlineMs: NOW_MS - 1 }, NOW_MS);
      expect.unreachable();
    } catch (error) {
      expect((error as OrbitfedError).code).toBe('ORBITFED_JOB_SPEC_INVALID');
      expect((error as OrbitfedError).location.field).toBe('/deadlineMs');
    }
    expect(() => parseJobSpec(null, NOW_MS)).toThrow(/invalid job spec/);
  });
});
