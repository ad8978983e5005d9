// When a build output is older than its sources: one check for
// bootstrap.mjs (whether to build at all) and build-native.mjs (what to build).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of a file, or of every file below a directory; 0 when missing. */
export function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The output is missing or older than one of its sources. */
export function olderThan(output, sources) {
  return !existsSync(output) || statSync(output).mtimeMs < Math.max(...sources.map(newestMtime));
}

export const ADDON = join(root, 'build', 'Release', 'forkline.node');
export const BPF_OBJECT = join(root, 'dist', 'bpf', 'forkline.bpf.o');

/** The generated record headers the native sources include (src/record/, include path src/). */
const RECORD_HEADER = join(root, 'src', 'record', 'record.h');
const RECORD_BPF_HEADER = join(root, 'src', 'record', 'record.bpf.h');

export function addonStale() {
  return olderThan(ADDON, [join(root, 'native'), RECORD_HEADER, join(root, 'binding.gyp')]);
}

export function bpfObjectStale() {
  return olderThan(BPF_OBJECT, [join(root, 'bpf'), RECORD_BPF_HEADER]);
}
