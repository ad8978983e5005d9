// Images started through a symlink, and busybox (the seed's IsThroughSymLink
// and IsBusybox): rules that read an entry's path need to know when the
// name a process was started by is not its executable's.

import type { ProcessEntry } from './types.js';

/** The entry's image was started through a symlink: `symlinkPath` is how it was invoked, `path` what ran. */
export function isThroughSymlink(entry: ProcessEntry): boolean {
  return entry.symlinkPath !== '' && entry.symlinkPath !== entry.path;
}

/** A busybox executable (its basename is busybox): one binary for many commands, told apart by argv[0] or symlinkPath. */
export function isBusybox(path: string): boolean {
  return path.slice(path.lastIndexOf('/') + 1) === 'busybox';
}
