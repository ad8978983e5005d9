// The synthetic source as a record source: seeded events encoded into
// chunks of records, the same bytes every time for the same options.

import { MAX_RECORD_SIZE } from '../../../record/constants.js';
import { encodeEvent } from '../../../record/encode.js';
import type { RecordChunk, RecordSource } from '../../source.js';
import type { SyntheticOptions } from './options.js';
import { syntheticEvents } from './stream.js';

const CHUNK_BYTES = 1 << 20;

export class SyntheticSource implements RecordSource {
  readonly name = 'synthetic';
  readonly replayable = true;

  constructor(readonly options: SyntheticOptions) {}

  async *chunks(): AsyncIterable<RecordChunk> {
    yield* syntheticChunks(this.options);
  }
}

/** Encodes the seeded stream into chunks of whole records. */
export function* syntheticChunks(options: SyntheticOptions): Generator<RecordChunk> {
  let buf = new Uint8Array(CHUNK_BYTES + MAX_RECORD_SIZE);
  let at = 0;
  let streamOffset = 0;
  for (const ev of syntheticEvents(options)) {
    at += encodeEvent(ev, buf, at);
    if (at >= CHUNK_BYTES) {
      yield { bytes: buf.subarray(0, at), streamOffset };
      streamOffset += at;
      buf = new Uint8Array(CHUNK_BYTES + MAX_RECORD_SIZE);
      at = 0;
    }
  }
  if (at > 0) yield { bytes: buf.subarray(0, at), streamOffset };
}
