#!/usr/bin/env node
// Builds the native parts: the BPF object (scripts/build-bpf.mjs, into
// dist/bpf/) and the N-API addon (node-gyp, into build/Release/). Skips what
// is up to date. Run through npm (`npm run build:native`), which puts
// node-gyp on the PATH.
//
//   --optional   the npm install hook: when the system lacks a build
//                dependency, say which and exit 0 (the TypeScript parts
//                work without the addon; live sources then say what to do).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonStale } from './freshness.mjs';
import { installCommand, missingPackages } from './system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const optional = process.argv.includes('--optional');

function fail(message) {
  process.stderr.write(`forkline build-native: ${message}\n`);
  process.exit(optional ? 0 : 1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`"${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal})`);
}

/** node-gyp: the one npm runs scripts with, else the one bundled with npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) fail('node-gyp not found (it comes with npm): run this through npm, e.g. npm run build:native');
  return found;
}

const missing = missingPackages();
if (missing.length > 0) {
  fail(`missing system packages: ${missing.join(', ')}; install them with: ${installCommand(missing)}`);
}

run(process.execPath, [join(root, 'scripts', 'build-bpf.mjs')]);

if (addonStale()) {
  process.stderr.write('forkline: building the native addon (node-gyp)…\n');
  run(process.execPath, [nodeGyp(), 'rebuild', '--silent']);
}
