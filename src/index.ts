// forkline: the package entry. Everything exported here is public API.

export { ProcessResolver } from './cache/resolver.js';
export { EbpflessResolver, type CacheResolverKey, type EbpflessExec, type GroupUpdate, type UserUpdate } from './cache/ebpfless.js';
export type { ContextUpdate, ResolverOptions, ResolverStats } from './cache/core.js';
export { ProcessTable, bytesPerRow, type ProcessTableHandles, type ProcessTableOptions } from './cache/table.js';
export { DEFAULT_SCRUB_WORDS, SCRUBBED } from './cache/scrub.js';
export { MAX_PID } from './cache/input.js';
export { isBusybox, isThroughSymlink } from './cache/symlink.js';
export type {
  EntryCredentials,
  EntryNamespaces,
  EntrySource,
  LineageResult,
  ProcessEntry,
  ValuesWithTruncation,
} from './cache/types.js';
export type { ByteString, Credentials, ExecInput, ExitInput, ForkInput, NamespaceInput } from './record/events.js';

// The sharded pipeline and its readers (docs/pipeline.md)
export { createPipeline, Pipeline, type PipelineOptions, type PipelineStats } from './pipeline/pipeline.js';
export type { RunSummary, EventCounts, DropCounts, CaptureSummary } from './pipeline/summary.js';
export { ProcessView, Cursor, type ViewOptions } from './cache/view.js';
export type { PipelineHandles } from './cache/shards.js';
export type { RecordSource, RecordChunk } from './pipeline/source.js';
export { ReplaySource, ReplayWriter } from './pipeline/sources/replay.js';
export { CaptureSource, type CaptureSourceOptions, type CaptureKind, type SnapshotCounts } from './pipeline/sources/capture.js';
export type { CaptureStats } from './native/addon.js';
export { SyntheticSource } from './pipeline/sources/synthetic/record-source.js';
export { syntheticEvents } from './pipeline/sources/synthetic/stream.js';
export type { SyntheticOptions } from './pipeline/sources/synthetic/options.js';

// The record format (docs/record-format.md)
export { MAX_RECORD_SIZE } from './record/constants.js';
export { decodeEvent, validateRecord } from './record/decode.js';
export { encodeEvent } from './record/encode.js';
export type { StreamEvent } from './record/events.js';

export { ForklineError, type ForklineErrorCode } from './errors.js';
