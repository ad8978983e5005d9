// Makes a fresh clone runnable: installs the npm dependencies and builds
// dist/ when they are missing or older than the sources. Used by
// bin/forkline.js and by `npm test`, so the README's two commands work on a
// machine that has only Node.js and npm.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`forkline: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}); run it in ${root} to see why\n`);
    process.exit(1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureInstalled() {
  if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
    process.stderr.write('forkline: installing npm dependencies (npm ci)…\n');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
}

export function ensureBuilt() {
  const entry = join(root, 'dist', 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(root, 'src'))) return;
  process.stderr.write('forkline: building (npm run build)…\n');
  run('npm', ['run', '--silent', 'build']);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureInstalled();
  if (process.argv.includes('--build')) ensureBuilt();
}
