// Makes a fresh clone runnable: installs the system packages the native
// parts need (as root, with apt-get), mounts tracefs and bpffs when absent
// (as root), installs the npm dependencies, and builds dist/ and the native
// parts when they are missing or older than the sources. Used by
// bin/forkline.js and by `npm test`, so the README's two commands work on a
// fresh Debian machine that has only Node.js and npm. Not root: it says what
// is missing and the exact command, and builds what it can.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { addonStale, bpfObjectStale, olderThan } from './freshness.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`forkline: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}); run it in ${root} to see why\n`);
    process.exit(1);
  }
}

export function ensureInstalled() {
  if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
    process.stderr.write('forkline: installing npm dependencies (npm ci)…\n');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
}

/** Installs the missing Debian packages (root), or says the command to run. */
export async function ensureSystem() {
  const { installCommand, missingPackages } = await import('./system-deps.mjs');
  const missing = missingPackages();
  if (missing.length === 0) return;
  const command = installCommand(missing);
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`forkline: live capture needs ${missing.join(', ')}; as root run: ${command}\n`);
    return;
  }
  process.stderr.write(`forkline: installing ${missing.join(', ')} (${command})…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...missing]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) {
      process.stderr.write(`forkline: "apt-get ${args.join(' ')}" failed (exit ${r.status}); run: ${command}\n`);
      process.exit(1);
    }
  }
}

/** Mounts tracefs (tracepoint ids) and bpffs when absent (root only; elsewhere nothing to do). */
export function ensureMounts() {
  if (!isRoot) return;
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const [type, dir] of [['tracefs', '/sys/kernel/tracing'], ['bpf', '/sys/fs/bpf']]) {
    if (mounts.split('\n').some((l) => l.split(' ')[1] === dir && l.split(' ')[2] === type)) continue;
    if (!existsSync(dir)) continue; // kernel without it: the capture says what is missing
    const r = spawnSync('mount', ['-t', type, type, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) process.stderr.write(`forkline: could not mount ${type} on ${dir}; run: mount -t ${type} ${type} ${dir}\n`);
  }
}

export function ensureBuilt() {
  const entry = join(root, 'dist', 'index.js');
  if (!olderThan(entry, [join(root, 'src')])) return;
  process.stderr.write('forkline: building (npm run build)…\n');
  run('npm', ['run', '--silent', 'build:ts']);
}

/** The BPF object and the addon when missing or stale; reported, not fatal, when the system lacks a dependency. */
export function ensureNativeBuilt() {
  // checked here: spawning npm costs a second
  if (!addonStale() && !bpfObjectStale()) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:native', '--', ...(isRoot ? [] : ['--optional'])], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    process.stderr.write(`forkline: the native build failed (exit ${r.status}); run "npm run build:native" in ${root} to see why\n`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await ensureSystem();
  ensureMounts();
  ensureInstalled();
  if (process.argv.includes('--build')) {
    ensureBuilt();
    ensureNativeBuilt();
  }
}
