// What the pipeline reads records from. A source yields chunks of whole,
// consecutive records in the record format; the router frames them. A
// source that can be read again from the start (replay file, seeded
// synthetic stream) lets the pipeline rebuild a crashed shard exactly.

import type { CaptureSummary } from './summary.js';

export interface RecordChunk {
  bytes: Uint8Array;
  /** Byte offset of bytes[0] in the whole stream (for error messages). */
  streamOffset: number;
}

export interface RecordSource {
  /** 'replay', 'synthetic', … : shown in summaries. */
  readonly name: string;
  /** Chunks of whole records, in stream order. May throw a ForklineError naming a byte offset. */
  chunks(): AsyncIterable<RecordChunk>;
  /** Whether chunks() can be called again and yields the same records (needed to rebuild a crashed shard). */
  readonly replayable: boolean;
  /** Total bytes when known (progress bars). */
  readonly totalBytes?: number;
  /** Live sources: what the capture itself saw and dropped, for the run summary. */
  captureSummary?(): CaptureSummary;
  /**
   * Live sources, whose record times are the kernel's boot clock now:
   * boot-clock ms minus process.hrtime ms. With it the pipeline measures
   * the visibility lag of each record (docs/pipeline.md).
   */
  bootMinusMonoMs?(): number;
}
