// Interned, reference-counted byte strings in SharedArrayBuffers: paths,
// comms, argv and envp blobs, and the context blob (tty, container, cgroup).
// Equal bytes get the same id, so the apply code compares strings by id and a
// fork copies them by taking a reference. Hand-written because the bytes must
// be readable from other threads without copying, which no allocator on npm
// offers over a SharedArrayBuffer.
//
// Memory: one arena of bytes carved into power-of-two blocks (16 B .. 64 KiB)
// with a free list per block size; a freed block is reused by the next string
// of the same size class. Id 0 is the empty string, never freed.

import { copyBytes, hashBytes, sameBytes } from './hash.js';
import { OpenIndex, type HashedIds } from './open-index.js';
import { carveColumns, layoutBytes, type ColumnSpec } from './sab-layout.js';

const MIN_BLOCK_SHIFT = 4; // 16 bytes
const CLASS_COUNT = 13; // 16 B .. 64 KiB
export const MAX_STRING_BYTES = 1 << (MIN_BLOCK_SHIFT + CLASS_COUNT - 1);

// meta words
const M_COUNT = 0; // live string ids, id 0 included
const M_BUMP = 1; // arena bytes handed out by the bump pointer
const M_USED = 2; // arena bytes in blocks that hold a live string
const M_FREE_ID_TOP = 3;
const M_NEXT_ID = 4; // ids never used yet start here
const M_CLASS_HEADS = 5; // CLASS_COUNT free-list heads (byte offset + 1, 0 = empty)
const META_WORDS = M_CLASS_HEADS + CLASS_COUNT;

export interface StringTableHandles {
  readonly maxStrings: number;
  readonly arenaBytes: number;
  readonly columns: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

function specs(maxStrings: number) {
  return [
    { name: 'meta', type: 'i32', length: META_WORDS },
    { name: 'offset', type: 'u32', length: maxStrings },
    { name: 'length', type: 'u32', length: maxStrings },
    { name: 'refs', type: 'u32', length: maxStrings },
    { name: 'hash', type: 'u32', length: maxStrings },
    { name: 'gen', type: 'u32', length: maxStrings },
    { name: 'freeIds', type: 'i32', length: maxStrings },
    { name: 'slots', type: 'i32', length: OpenIndex.slotCountFor(maxStrings) },
  ] as const satisfies readonly ColumnSpec[];
}

export class StringTable implements HashedIds {
  readonly handles: StringTableHandles;
  readonly meta: Int32Array;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly refs: Uint32Array;
  readonly hash: Uint32Array;
  /** Bumped each time an id is released: (id, gen) names one string forever, for reader-side caches. */
  readonly gen: Uint32Array;
  private readonly freeIds: Int32Array;
  private readonly index: OpenIndex;
  readonly arena: Uint8Array;
  /** The arena as int32 words (blocks are 16-byte aligned): fixed-size tuples are compared word by word. */
  readonly arena32: Int32Array;
  /** Buffer view of the arena: utf8 decoding straight from shared memory. */
  private readonly arenaBuf: Buffer;
  /** DataView of the arena, for callers that intern bytes of the arena itself. */
  readonly arenaDv: DataView;
  private scratch = new Uint8Array(256);
  private scratchDv = new DataView(this.scratch.buffer);
  private readonly encoder = new TextEncoder();

  /** Empties the table (a crashed writer's shard is rebuilt from scratch). No reader may rely on it meanwhile. */
  reset(): void {
    new Uint8Array(this.handles.columns).fill(0);
    new Uint8Array(this.handles.arena).fill(0);
    this.meta[M_COUNT] = 1;
    this.meta[M_NEXT_ID] = 1;
  }

  static create(maxStrings: number, arenaBytes: number): StringTable {
    if (!Number.isInteger(maxStrings) || maxStrings < 16) throw new RangeError('maxStrings must be an integer >= 16');
    const arena = Math.max(MAX_STRING_BYTES, Math.ceil(arenaBytes / 16) * 16);
    const handles: StringTableHandles = {
      maxStrings,
      arenaBytes: arena,
      columns: new SharedArrayBuffer(layoutBytes(specs(maxStrings))),
      arena: new SharedArrayBuffer(arena),
    };
    const t = new StringTable(handles);
    t.meta[M_COUNT] = 1;
    t.meta[M_NEXT_ID] = 1;
    return t;
  }

  /** Attach to tables created elsewhere (any thread). */
  constructor(handles: StringTableHandles) {
    this.handles = handles;
    const c = carveColumns(handles.columns, specs(handles.maxStrings));
    this.meta = c.meta;
    this.offset = c.offset;
    this.length = c.length;
    this.refs = c.refs;
    this.hash = c.hash;
    this.gen = c.gen;
    this.freeIds = c.freeIds;
    this.index = new OpenIndex(c.slots);
    this.arena = new Uint8Array(handles.arena);
    this.arena32 = new Int32Array(handles.arena);
    this.arenaBuf = Buffer.from(handles.arena);
    this.arenaDv = new DataView(handles.arena);
  }

  /** Hash of a stored string (HashedIds, for the index). */
  hashOf(id: number): number {
    return this.hash[id]!;
  }

  /** Live strings, the permanent empty string included. */
  get count(): number {
    return this.meta[M_COUNT]!;
  }

  /** Arena bytes held by live strings (block sizes, not string lengths). */
  get bytesUsed(): number {
    return this.meta[M_USED]!;
  }

  /**
   * Interns bytes [off, off + len) of `src` (`srcDv` is a DataView over the
   * same memory: callers keep one per buffer, so interning allocates
   * nothing) and returns its id holding one new reference, or -1 when the
   * table or the arena is full.
   */
  internBytes(src: Uint8Array, srcDv: DataView, off: number, len: number, hash = -1): number {
    if (len === 0) return 0;
    if (len > MAX_STRING_BYTES) throw new RangeError(`a string of ${len} bytes exceeds ${MAX_STRING_BYTES} bytes`);
    // `hash`: hashBytes of the same bytes, when the caller kept it (InputEncoder's caches)
    const h = hash >= 0 ? hash : hashBytes(srcDv, src, off, len);
    const index = this.index;
    const slots = index.slots;
    let slot = index.home(h);
    for (;;) {
      const v = slots[slot]!;
      if (v === 0) break;
      const id = v - 1;
      if (this.hash[id] === h && this.length[id] === len && sameBytes(this.arenaDv, this.arena, this.offset[id]!, srcDv, src, off, len)) {
        this.refs[id]!++;
        return id;
      }
      slot = index.next(slot);
    }
    const id = this.takeId();
    if (id < 0) return -1;
    const cls = classOf(len);
    const at = this.allocBlock(cls);
    if (at < 0) {
      this.freeIds[this.meta[M_FREE_ID_TOP]!++] = id;
      return -1;
    }
    copyBytes(this.arenaDv, this.arena, at, srcDv, src, off, len);
    this.offset[id] = at;
    this.length[id] = len;
    this.gen[id]!++; // new contents, new generation: a reader's cache never mixes two lives of an id
    this.hash[id] = h;
    this.refs[id] = 1;
    slots[slot] = id + 1;
    this.meta[M_COUNT]!++;
    this.meta[M_USED]! += 1 << (cls + MIN_BLOCK_SHIFT);
    return id;
  }

  /** Interns the UTF-8 bytes of `s`; see internBytes. */
  internString(s: string): number {
    if (s.length === 0) return 0;
    const need = s.length * 3;
    if (this.scratch.length < need) {
      this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
      this.scratchDv = new DataView(this.scratch.buffer);
    }
    const { written } = this.encoder.encodeInto(s, this.scratch);
    return this.internBytes(this.scratch, this.scratchDv, 0, written);
  }

  incref(id: number): void {
    if (id > 0) this.refs[id]!++;
  }

  decref(id: number): void {
    if (id <= 0) return;
    const left = --this.refs[id]!;
    if (left > 0) return;
    if (left < 0) throw new Error(`string ${id} released more often than referenced`);
    this.release(id);
  }

  /** The string's bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  decode(id: number): string {
    if (id <= 0) return '';
    const off = this.offset[id]!;
    return this.arenaBuf.toString('utf8', off, off + this.length[id]!);
  }

  /** A copy of the string's bytes. */
  bytes(id: number): Uint8Array {
    if (id <= 0) return new Uint8Array(0);
    const off = this.offset[id]!;
    return this.arena.slice(off, off + this.length[id]!);
  }

  /** Splits a blob of NUL-terminated items (argv, envp) into decoded strings. */
  decodeList(id: number): string[] {
    const out: string[] = [];
    if (id <= 0) return out;
    const arena = this.arena;
    let start = this.offset[id]!;
    const end = start + this.length[id]!;
    for (let i = start; i < end; i++) {
      if (arena[i] === 0) {
        out.push(this.arenaBuf.toString('utf8', start, i));
        start = i + 1;
      }
    }
    if (start < end) out.push(this.arenaBuf.toString('utf8', start, end));
    return out;
  }

  /** Whether string `id` holds exactly bytes [off, off + len) of `src` (`srcDv` over the same memory). */
  equals(id: number, src: Uint8Array, srcDv: DataView, off: number, len: number): boolean {
    if (id <= 0) return len === 0;
    return this.length[id] === len && sameBytes(this.arenaDv, this.arena, this.offset[id]!, srcDv, src, off, len);
  }

  private takeId(): number {
    const meta = this.meta;
    if (meta[M_FREE_ID_TOP]! > 0) return this.freeIds[--meta[M_FREE_ID_TOP]!]!;
    if (meta[M_NEXT_ID]! < this.handles.maxStrings) return meta[M_NEXT_ID]!++;
    return -1;
  }

  private allocBlock(cls: number): number {
    const meta = this.meta;
    const head = meta[M_CLASS_HEADS + cls]!;
    if (head !== 0) {
      const at = head - 1;
      meta[M_CLASS_HEADS + cls] = this.arena32[at >> 2]!; // next link kept in the free block itself
      return at;
    }
    const size = 1 << (cls + MIN_BLOCK_SHIFT);
    const at = meta[M_BUMP]!;
    if (at + size > this.handles.arenaBytes) return -1;
    meta[M_BUMP] = at + size;
    return at;
  }

  private release(id: number): void {
    const index = this.index;
    let slot = index.home(this.hash[id]!);
    while (index.slots[slot] !== id + 1) slot = index.next(slot);
    index.removeAt(slot, this);
    const cls = classOf(this.length[id]!);
    const at = this.offset[id]!;
    this.arena32[at >> 2] = this.meta[M_CLASS_HEADS + cls]!;
    this.meta[M_CLASS_HEADS + cls] = at + 1;
    this.meta[M_USED]! -= 1 << (cls + MIN_BLOCK_SHIFT);
    this.meta[M_COUNT]!--;
    this.length[id] = 0;
    this.gen[id]!++;
    this.freeIds[this.meta[M_FREE_ID_TOP]!++] = id;
  }
}

function classOf(len: number): number {
  let cls = 0;
  while (1 << (cls + MIN_BLOCK_SHIFT) < len) cls++;
  return cls;
}
