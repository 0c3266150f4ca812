import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseYamlTree } from '../../common/index.ts';

const YAML_TREE = fileURLToPath(new URL('../../common/yaml-tree.ts', import.meta.url));

/** Runs `body` in a fresh Node process that imported common/yaml-tree.ts; prints whether yaml was loaded. */
function yamlLoadedAfter(body: string): boolean {
  const script = `import { createRequire } from 'node:module';
import { parseYamlTree } from ${JSON.stringify(YAML_TREE)};
${body}
const loaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/yaml/'));
process.stdout.write(String(loaded));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  return run.stdout === 'true';
}

describe('YAML trees', () => {
  it('does not load yaml when common/ is imported, nor for valid JSON without duplicate keys', () => {
    expect(yamlLoadedAfter('')).toBe(false);
    expect(yamlLoadedAfter(`const tree = parseYamlTree('{"id": "SAT-1", "links": [{"port": 4556}], "name": "a\\\\"b"}'); if (tree.errors.length !== 0) throw new Error();`)).toBe(false);
  });

  it('loads yaml for a YAML text, and for JSON when its values or lines are asked for', () => {
    expect(yamlLoadedAfter(`parseYamlTree('id: SAT-1\\n');`)).toBe(true);
    expect(yamlLoadedAfter(`parseYamlTree('{"id": "SAT-1"}').lineOfPath(['id']);`)).toBe(true);
  });

  it('gives a JSON text the same values and lines as yaml does', () => {
    const text = '{\n  "id": "SAT-1",\n  "links": [\n    { "port": 4556, "tags": ["a", "b"] }\n  ],\n  "note": "{\\"x\\": [1, 2]}"\n}\n';
    const tree = parseYamlTree(text);
    expect(tree.errors).toEqual([]);
    expect(tree.toJS()).toEqual(JSON.parse(text));
    expect(tree.lineOfPath(['links', 0, 'port'])).toBe(4);
    expect(tree.lineAt(text.indexOf('"note"'))).toBe(6);
  });

  it('reports a key repeated in one JSON object, at its line, also inside nested objects and escaped keys', () => {
    expect(parseYamlTree('{"a": 1,\n "a": 2}').errors).toMatchObject([{ code: 'DUPLICATE_KEY', line: 2 }]);
    expect(parseYamlTree('{"o": {"k\\u0041": 1,\n "kA": 2}}').errors).toMatchObject([{ code: 'DUPLICATE_KEY', line: 2 }]);
    expect(parseYamlTree('[{"a": 1}, {"a": 2}]').errors).toEqual([]);
    expect(parseYamlTree('{"a": {"b": 1}, "b": {"a": 1}}').errors).toEqual([]);
  });

  it('reports syntax errors of a text that is neither JSON nor YAML', () => {
    expect(parseYamlTree('{"a": 1,,}').errors.length).toBeGreaterThan(0);
    expect(parseYamlTree('a: [1, 2\nb: 3\n').errors[0]).toMatchObject({ line: expect.any(Number) });
  });
});
