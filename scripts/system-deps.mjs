// What the native parts need from the system (Debian package names), and
// how to tell whether it is there. Used by bootstrap.mjs (which installs
// what is missing when it runs as root) and build-native.mjs (which says
// the exact command otherwise).

import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether an executable named cmd is on PATH (no shell spawned: this runs before every `forkline run`). */
function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** [Debian package, present?] for every build and run dependency of the addon and the BPF programs. */
export const SYSTEM_DEPS = [
  ['clang', () => onPath('clang')],
  ['llvm', () => onPath('llvm-strip') || existsSync('/usr/bin/llvm-strip-14')],
  ['libbpf-dev', () => existsSync('/usr/include/bpf/libbpf.h')],
  ['libelf-dev', () => existsSync('/usr/include/libelf.h')],
  ['zlib1g-dev', () => existsSync('/usr/include/zlib.h')],
  ['pkg-config', () => onPath('pkg-config')],
  ['bpftool', () => onPath('bpftool') || existsSync('/usr/sbin/bpftool')],
  ['g++', () => onPath('g++')],
  ['make', () => onPath('make')],
  ['python3', () => onPath('python3')],
];

/** Debian packages that are missing. */
export function missingPackages() {
  return SYSTEM_DEPS.filter(([, present]) => !present()).map(([name]) => name);
}

export function installCommand(packages) {
  return `apt-get update && apt-get install -y ${packages.join(' ')}`;
}
