// forkline: the package entry. Everything exported here is public API.

export { ProcessResolver } from './cache/resolver.js';
export { EbpflessResolver, type CacheResolverKey, type EbpflessExec } from './cache/ebpfless.js';
export type { ResolverOptions, ResolverStats } from './cache/core.js';
export { ProcessTable, bytesPerRow, type ProcessTableHandles, type ProcessTableOptions } from './cache/table.js';
export { DEFAULT_SCRUB_WORDS, SCRUBBED } from './cache/scrub.js';
export { MAX_PID } from './cache/input.js';
export type {
  ByteString,
  Credentials,
  EntryCredentials,
  EntrySource,
  ExecInput,
  ExitInput,
  ForkInput,
  LineageResult,
  ProcessEntry,
  ValuesWithTruncation,
} from './cache/types.js';
