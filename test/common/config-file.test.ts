import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { OrbitfedError, parseConfigText } from '../../common/index.ts';

const Schema = Type.Object({
  name: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  peers: Type.Array(Type.Object({ address: Type.String() }, { additionalProperties: false })),
}, { additionalProperties: false });

function failure(text: string, file = 'node.yaml'): OrbitfedError {
  try {
    parseConfigText(text, Schema, { file, what: 'test configuration' });
  } catch (error) {
    if (error instanceof OrbitfedError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('configuration files', () => {
  it('reads YAML and JSON that match the schema', () => {
    expect(parseConfigText('name: v0\nport: 26656\npeers:\n  - address: a\n', Schema, { file: 'v0.yaml', what: 'x' })).toEqual({ name: 'v0', port: 26656, peers: [{ address: 'a' }] });
    expect(parseConfigText('{"name":"v0","port":1,"peers":[]}', Schema, { file: 'v0.json', what: 'x' }).port).toBe(1);
  });

  it('names the file, line and field of a value of the wrong type', () => {
    const error = failure('name: v0\nport: 26656\npeers:\n  - address: 7\n');
    expect(error.code).toBe('ORBITFED_CONFIG_INVALID');
    expect(error.location).toMatchObject({ file: 'node.yaml', line: 4, field: '/peers/0/address' });
  });

  it('refuses unknown keys (a misspelt option is not ignored)', () => {
    const error = failure('name: v0\nport: 1\npeers: []\nprot: 2\n');
    expect(error.message).toMatch(/prot|additional/i);
  });

  it('reports YAML syntax errors and duplicate JSON keys with their line', () => {
    expect(failure('name: v0\n  port: : 1\n').code).toBe('ORBITFED_CONFIG_SYNTAX');
    const duplicate = failure('{\n"name":"a",\n"name":"b",\n"port":1,"peers":[]}', 'x.json');
    expect(duplicate.code).toBe('ORBITFED_CONFIG_SYNTAX');
    expect(duplicate.location?.line).toBe(3);
    expect(failure('{"name": ', 'x.json').code).toBe('ORBITFED_CONFIG_SYNTAX');
  });
});
