#!/usr/bin/env node
// The `forkline` command. From a git clone it installs and builds what is
// missing first; from an installed package dist/ is already there.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, 'scripts', 'bootstrap.mjs'))) {
  const { ensureSystem, ensureMounts, ensureInstalled, ensureBuilt, ensureNativeBuilt } = await import('../scripts/bootstrap.mjs');
  // only the live agent needs the system packages, the mounts and the native parts
  const live = process.argv[2] === 'run';
  if (live) await ensureSystem();
  if (live) ensureMounts();
  ensureInstalled();
  ensureBuilt();
  if (live) ensureNativeBuilt();
}
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
