// The one importer of `yaml` (STYLE rule 17): a YAML (or JSON, which is YAML) text as a tree of
// plain values, with its syntax errors and the line of any path in it, so that every file we read
// (stations, configuration, link maps) can say "file:line field: what is wrong".
//
// yaml (72 modules, ~1.5 MB resident in the agent) is loaded only when a text needs it, not when common/ is imported
// (every process imports common/): a text that is valid JSON without duplicate keys, such as the
// orbital agent's JSON configuration, has no syntax errors in YAML either, so its tree is answered
// without yaml until something asks for values or lines (orbital/README.md, "Memory and start-up").
// Loaded synchronously through require (as consensus/ed25519.ts loads @noble/curves), so that
// parseYamlTree stays synchronous.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

export type TreePath = readonly (string | number)[];

export interface YamlTreeError {
  /** yaml's code: DUPLICATE_KEY, MULTIPLE_DOCS, BAD_INDENT, … */
  readonly code: string;
  readonly message: string;
  /** 1-based. */
  readonly line: number;
}

export interface YamlTree {
  /** Syntax errors (duplicate keys included), in text order. */
  readonly errors: readonly YamlTreeError[];
  /** The document as plain values; yaml's alias limit (100) keeps a "billion laughs" text from expanding. */
  toJS(): unknown;
  /** 1-based line where `path` (or the deepest part of it that exists) starts. */
  lineOfPath(path: TreePath): number | undefined;
  /** 1-based line of a character offset. */
  lineAt(offset: number): number;
}

const requireHere = createRequire(import.meta.url);
let yamlModule: typeof Yaml | undefined;

/** The yaml library, loaded at the first call (see the header). */
function yaml(): typeof Yaml {
  yamlModule ??= requireHere('yaml') as typeof Yaml;
  return yamlModule;
}

/**
 * Parses `text` as YAML. Valid JSON without duplicate keys is known to have no errors without loading
 * yaml; its values and lines (and everything about any other text) come from yaml, loaded then.
 */
export function parseYamlTree(text: string): YamlTree {
  if (!isJsonWithUniqueKeys(text)) return parseWithYaml(text);
  let full: YamlTree | undefined;
  const tree = (): YamlTree => (full ??= parseWithYaml(text));
  return { errors: [], toJS: () => tree().toJS(), lineOfPath: (path) => tree().lineOfPath(path), lineAt: (offset) => tree().lineAt(offset) };
}

/** True when JSON.parse accepts `text` and no object in it repeats a key (which YAML forbids and JSON.parse hides). */
function isJsonWithUniqueKeys(text: string): boolean {
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  // The text is valid JSON, so a scan that knows strings and brackets finds every key.
  const containers: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = containers.at(-1);
      if (expectKey && keys !== undefined && keys !== null) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return false;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (char === '{') {
      containers.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      containers.push(null);
      expectKey = false;
    } else if (char === '}' || char === ']') {
      containers.pop();
      expectKey = false;
    } else if (char === ',') {
      expectKey = containers.at(-1) instanceof Set;
    }
  }
  return true;
}

function parseWithYaml(text: string): YamlTree {
  const { LineCounter, isMap, isScalar, isSeq, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  return {
    errors: document.errors.map((e) => ({ code: e.code, message: e.message, line: lineAt(e.pos[0]) })),
    toJS: () => document.toJS(),
    lineAt,
    lineOfPath(path) {
      let node: unknown = document.contents;
      let offset = rangeStart(node);
      for (const segment of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
          if (pair === undefined) break;
          offset = rangeStart(pair.key) ?? offset;
          node = pair.value;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item: unknown = node.items[segment];
          if (item === undefined) break;
          offset = rangeStart(item) ?? offset;
          node = item;
        } else {
          break;
        }
      }
      return offset === undefined ? undefined : lineAt(offset);
    },
  };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range === undefined || range === null ? undefined : range[0];
}
