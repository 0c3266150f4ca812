// The one importer of `yaml` (STYLE rule 17): a YAML (or JSON, which is YAML) text as a tree of
// plain values, with its syntax errors and the line of any path in it, so that every file we read
// (stations, configuration, link maps) can say "file:line field: what is wrong".
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';

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

export function parseYamlTree(text: string): YamlTree {
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
