// A RecordSource that replays the encoded standard stream through one
// long-lived pipeline, pass after pass, each pass with other pids and later
// times (records.ts, shiftPass), so the pipeline's worker threads stay up and
// warm across batches and the tables never see a pid twice.
//
// Two ways to drive it:
// - gated (pipeline suite): feed(i) hands chunk i to the router and resolves
//   once the router has routed and published it; nothing moves in between.
// - free (readers-pipeline suite): run() makes chunks() replay pass after
//   pass at full speed; another thread steers it through `shared` (words
//   below): pause, resume, stop, and reads which pass is being routed.

import type { RecordChunk, RecordSource } from '../../src/pipeline/source.js';
import { passSpan, shiftPass, type EncodedStream, type RecordRange } from './records.js';

/** Words of PassSource.shared (an Int32Array over a SharedArrayBuffer). */
export const PassWord = {
  /** Pass being routed now (free mode); every earlier pass is wholly routed. */
  PASS: 0,
  /** Command from the steering thread: RUN, PAUSE or STOP. */
  COMMAND: 1,
  /** 1 while the source is paused (acknowledges PAUSE). */
  PAUSED: 2,
} as const;
export const RUN = 0;
export const PAUSE = 1;
export const STOP = 2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PassSource implements RecordSource {
  readonly name = 'standard mix (bench passes)';
  /** A crashed shard cannot be rebuilt from it: a crash fails the run (it would not be a measurement). */
  readonly replayable = false;
  /** A private copy of the stream's records, shifted pass by pass in place. */
  readonly bytes: Uint8Array;
  readonly span: number;
  /** Pass each chunk's bytes are shifted to now. */
  private readonly passOf: Int32Array;
  private give: ((chunk: number) => void) | undefined;
  private given: Promise<void>;
  private onGiven!: () => void;
  private routed: (() => void) | undefined;
  private ended = false;
  private free = false;

  constructor(
    enc: EncodedStream,
    readonly ranges: readonly RecordRange[],
    /** Free mode: the steering words (PassWord), shareable with other threads. */
    readonly shared: Int32Array = new Int32Array(new SharedArrayBuffer(16)),
  ) {
    this.bytes = enc.bytes.slice();
    this.span = passSpan(enc);
    this.passOf = new Int32Array(ranges.length);
    this.given = new Promise((resolve) => (this.onGiven = resolve));
  }

  /** Shifts chunk i's records to pass p (untimed preparation). */
  setPass(i: number, p: number): void {
    const r = this.ranges[i]!;
    shiftPass(this.bytes, r.start, r.end, this.passOf[i]!, p, this.span);
    this.passOf[i] = p;
  }

  /** Gated: routes chunk i; resolves when the router has published every record of it. */
  async feed(i: number): Promise<void> {
    await this.given; // the router has asked for its first chunk
    return new Promise<void>((resolve) => {
      this.routed = resolve;
      this.give!(i);
    });
  }

  /** Free mode: chunks() replays passes until end(). Call before the pipeline starts. */
  run(): void {
    this.free = true;
  }

  /** No more chunks: the pipeline drains what it has and ends. */
  end(): void {
    this.ended = true;
    this.give?.(-1);
  }

  async *chunks(): AsyncIterable<RecordChunk> {
    if (this.free) {
      const w = this.shared;
      for (let pass = 0; ; pass++) {
        Atomics.store(w, PassWord.PASS, pass);
        for (let i = 0; i < this.ranges.length; i++) {
          // steering: checked once per chunk
          while (Atomics.load(w, PassWord.COMMAND) === PAUSE) {
            Atomics.store(w, PassWord.PAUSED, 1);
            await sleep(2);
          }
          Atomics.store(w, PassWord.PAUSED, 0);
          if (this.ended || Atomics.load(w, PassWord.COMMAND) === STOP) return;
          this.setPass(i, pass);
          const r = this.ranges[i]!;
          yield { bytes: this.bytes.subarray(r.start, r.end), streamOffset: r.start };
        }
      }
    }
    for (;;) {
      const i = await new Promise<number>((resolve) => {
        this.give = resolve;
        this.onGiven();
        if (this.ended) resolve(-1);
      });
      if (i < 0) return;
      const r = this.ranges[i]!;
      yield { bytes: this.bytes.subarray(r.start, r.end), streamOffset: r.start };
      // resumed: the router has dispatched and published the whole chunk
      this.routed?.();
      this.routed = undefined;
    }
  }
}
