// Every import path the docs show works (issue 13, point 11): each
// `from 'forkline…'` of README.md and docs/ resolves through package.json
// "exports" from a consumer's node_modules, gives the names imported, and
// has types. Runs against dist/ (npm run build:ts first; npm test does it).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = process.cwd();
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

/** [specifier, imported names] of every static or dynamic import of the package in the docs. */
function docImports(): [string, string[]][] {
  const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  const out = new Map<string, Set<string>>();
  for (const f of files) {
    const text = readFileSync(join(repo, f), 'utf8');
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(forkline[^']*)'/g)) {
      const names = m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!).filter(Boolean);
      const set = out.get(m[2]!) ?? new Set();
      names.forEach((n) => set.add(n));
      out.set(m[2]!, set);
    }
    for (const m of text.matchAll(/import\('(forkline[^']*)'\)/g)) if (!out.has(m[1]!)) out.set(m[1]!, new Set());
  }
  return [...out].map(([k, v]) => [k, [...v]]);
}

const built = existsSync(join(repo, 'dist', 'index.js'));
const consumer = mkdtempSync(join(tmpdir(), 'forkline-consumer-'));
mkdirSync(join(consumer, 'node_modules'));
symlinkSync(repo, join(consumer, 'node_modules', pkg.name), 'dir');
afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe('package exports', () => {
  it('the docs import the package at least by its main path and by the metrics path', () => {
    const specs = docImports().map(([s]) => s);
    expect(specs).toContain('forkline');
    expect(specs).toContain('forkline/metrics');
  });

  it('every import path of the docs resolves from node_modules and gives the names imported', { timeout: 60_000 }, () => {
    if (!built) return console.warn('skipped: dist/ not built (npm run build:ts)');
    for (const [spec, names] of docImports()) {
      const script = `const m = await import(${JSON.stringify(spec)});
        const missing = ${JSON.stringify(names)}.filter((n) => !(n in m));
        if (missing.length) { console.error('missing: ' + missing.join(',')); process.exit(2); }`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' });
      expect(run.stderr, spec).toBe('');
      expect(run.status, spec).toBe(0);
    }
  });

  it('every export path has types, and TypeScript resolves them for the names the docs import', { timeout: 120_000 }, () => {
    for (const [path, target] of Object.entries(pkg.exports)) {
      if (path === './package.json') continue;
      expect(target, path).toMatchObject({ types: expect.stringMatching(/\.d\.ts$/), import: expect.stringMatching(/\.js$/) });
    }
    if (!built) return console.warn('skipped: dist/ not built (npm run build:ts)');
    const lines = docImports().map(([spec, names], i) =>
      names.length > 0 ? `import { ${names.join(', ')} } from '${spec}';\nvoid [${names.join(', ')}];` : `export const m${i} = import('${spec}');`,
    );
    writeFileSync(join(consumer, 'use.ts'), lines.join('\n') + '\nexport {};\n');
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
          skipLibCheck: true, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')],
        },
        files: ['use.ts'],
      }),
    );
    writeFileSync(join(consumer, 'package.json'), '{ "type": "module" }');
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });
});
