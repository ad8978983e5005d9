// The layout of src/ (docs/architecture.md, "Stages and the import rule"):
// every `import … from` and `export … from` of src/**/*.ts, type-only ones
// included, is an edge between two files. There is no cycle among them, and
// each folder imports only from its own folder and the stages below it.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The stages, lowest first: a file may import from its own stage and the
 * stages before it in this list, never from one after it. src/index.ts (the
 * package entry) may import anything. The same list, in the same words, is in
 * docs/architecture.md.
 */
const STAGES = [
  'src/errors.ts',
  'src/native/',
  'src/record/',
  'src/procfs/',
  'src/cache/',
  'src/ring/',
  'src/workers/',
  'src/pipeline/',
  'src/ops/',
  'src/cli/',
] as const;

const ENTRY = 'src/index.ts';

/** Every .ts file below `dir`, as a path relative to the repository root. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

// `import x from`, `import type { a, b } from`, `import * as m from`,
// `export { a } from`, `export type { a } from`, `export * from` (over
// several lines too), and the bare `import './x.js'`; at the start of a line,
// so that a comment or a string that mentions one does not count.
const IMPORT = /^[ \t]*(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]/gm;

/** The files of src/ that `file` imports (relative specifiers only; packages and node: modules are not edges). */
function importsOf(file: string, text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    found.add(relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts'))));
  }
  return [...found].sort();
}

/** The stage of a file: its index in STAGES, or -1 when it is in none. */
function stageOf(file: string): number {
  return STAGES.findIndex((s) => (s.endsWith('/') ? file.startsWith(s) : file === s));
}

/** Edges that break the import rule, as "from -> to (why)". */
function ruleBreaks(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    if (from === ENTRY) continue;
    const own = stageOf(from);
    if (own < 0) {
      out.push(`${from} is in no stage: add its folder to STAGES (test/layout.test.ts and docs/architecture.md)`);
      continue;
    }
    for (const to of targets) {
      const other = stageOf(to);
      if (other < 0) out.push(`${from} -> ${to} (imports a file in no stage)`);
      else if (other > own) out.push(`${from} -> ${to} (${STAGES[own]} imports ${STAGES[other]}, a stage above it)`);
    }
  }
  return out;
}

/** Every import cycle, each as the list of its files (Tarjan's strongly connected components of more than one file, or a file that imports itself). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles('src')) graph.set(file, importsOf(file, readFileSync(join(root, file), 'utf8')));
  return graph;
}

describe('the layout of src/', () => {
  const graph = importGraph();

  it('sees the imports of every kind (type-only, re-exports, several lines) and nothing in comments', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../record/events.js';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.js';",
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "export * from './g.js';",
      "import * as h from './h.js';",
      "import './side-effect.js';",
      "import { readFileSync } from 'node:fs';",
      "// import { x } from './commented.js';",
      " * see import { y } from './in-a-doc-comment.js'",
      "const s = \"import { z } from './in-a-string.js'\";",
    ].join('\n');
    expect(importsOf('src/cache/x.ts', text)).toEqual([
      'src/cache/a.ts', 'src/cache/c.ts', 'src/cache/e.ts', 'src/cache/f.ts', 'src/cache/g.ts', 'src/cache/h.ts',
      'src/cache/side-effect.ts', 'src/record/events.ts',
    ]);
    // and the real tree has the edges this test exists for
    expect(graph.get('src/cache/record-applier.ts')).toContain('src/record/decode.ts');
    expect(graph.get('src/index.ts')!.length).toBeGreaterThan(10);
  });

  it('has no import cycle between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it(`has each folder import only from itself and the stages below it: ${STAGES.join(' < ')}`, () => {
    expect(ruleBreaks(graph)).toEqual([]);
  });

  it('docs/architecture.md gives the same order of stages', () => {
    const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    expect(doc).toContain(STAGES.join(' < '));
  });

  it('would notice a cycle and an upward import (the checks are not vacuous)', () => {
    const bad = new Map(graph);
    bad.set('src/cache/table.ts', [...graph.get('src/cache/table.ts')!, 'src/pipeline/pipeline.ts']);
    bad.set('src/record/spec.ts', [...graph.get('src/record/spec.ts')!, 'src/record/encode.ts']);
    expect(ruleBreaks(bad)).toContain('src/cache/table.ts -> src/pipeline/pipeline.ts (src/cache/ imports src/pipeline/, a stage above it)');
    expect(cycles(bad)).toContainEqual(['src/record/encode.ts', 'src/record/spec.ts']);
  });
});
