// The record format's spec: RECORD_SPEC is the single source of truth of the
// binary format (docs/record-format.md). Everything else is derived from it:
// the offsets (recordLayout), the list of named constants (recordConstants),
// the generated C headers src/record/record.h and src/record/record.bpf.h
// (scripts/gen-record-header.mjs), and the literal constants of the hot
// paths in constants.ts, which test/record/record.test.ts checks against it.

import type { Credentials } from './events.js';

// ---------------------------------------------------------------------------
// The spec (data)

export type FieldType = 'u16' | 'u32' | 'i32' | 'u64';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Array length (a fixed-size array of `type`); 1 when absent. */
  readonly count?: number;
  readonly doc: string;
}

export interface VarFieldSpec {
  readonly name: string;
  /** Largest length in bytes. */
  readonly max: number;
  /** How the bytes are laid out. */
  readonly kind: 'bytes' | 'list' | 'ctx';
  readonly doc: string;
}

export interface RecordTypeSpec {
  /** Upper-case name: REC_<name>, <name>_<FIELD> constants. */
  readonly name: string;
  readonly code: number;
  /** C++ struct name in the generated headers (record.h, record.bpf.h). */
  readonly struct: string;
  /** `type` of the decoded event. */
  readonly event: string;
  readonly doc: string;
  /** Fixed fields after the header, in order, naturally aligned (explicit `reserved` fields fill holes). */
  readonly fields: readonly FieldSpec[];
  /** Variable fields, in order: a u16 length each after the fixed fields, then their bytes. */
  readonly vars: readonly string[];
  /** Bits of the header's `flags`. */
  readonly flags: Readonly<Record<string, number>>;
}

const SIZE_OF: Readonly<Record<FieldType, number>> = { u16: 2, u32: 4, i32: 4, u64: 8 };

/** u32 words of the credential tuple (7 ids, then two u64 capability masks). */
const CRED_TUPLE_WORDS = 11;

/**
 * Where a FORK/EXEC process lives, after `given` (FORK and EXEC share them at
 * the same offsets). The four numbers are "given" together: when any is
 * non-zero (docs/cache.md, "Namespaces and cgroup").
 */
const NAMESPACE_FIELDS: readonly FieldSpec[] = [
  { name: 'mountId', type: 'u32', doc: 'mount id of the executable (mnt_id, as in /proc/<pid>/mountinfo); 0 unknown' },
  { name: 'nsPid', type: 'u32', doc: 'pid as seen in its own (active) pid namespace; 0 unknown' },
  { name: 'pidnsInode', type: 'u32', doc: 'inode of that pid namespace (/proc/<pid>/ns/pid); 0 unknown' },
  { name: 'reserved', type: 'u32', doc: 'zero' },
  { name: 'cgroupId', type: 'u64', doc: 'cgroup v2 id (kernfs node id = inode of the cgroup directory); 0 unknown' },
];

export const RECORD_SPEC = {
  endianness: 'little',
  /** Every record starts at a multiple of this and its size is a multiple of it. */
  align: 8,
  header: [
    { name: 'type', type: 'u16', doc: 'record type (REC_*); 0 = PAD' },
    { name: 'flags', type: 'u16', doc: 'record-specific bits (FLAG_*)' },
    { name: 'size', type: 'u32', doc: 'total bytes including header and padding; a multiple of 8' },
    { name: 'cpu', type: 'u32', doc: 'CPU that emitted the record' },
    { name: 'pidns', type: 'u32', doc: 'pid namespace id of the pids in the body; 0 = host' },
    { name: 'time', type: 'u64', doc: 'kernel clock, ns' },
    { name: 'cpuSeq', type: 'u64', doc: 'per-CPU sequence number from 1 (a gap is a counted drop); 0 = not from a CPU ring' },
    { name: 'gseq', type: 'u64', doc: 'global sequence number stamped by the router; 0 before' },
  ] as readonly FieldSpec[],
  /** PAD is the only record that may be shorter than the header: type, flags and size only. */
  padMinSize: 8,
  /** 65535 * 2 + 16384 (argv + envp + everything else), rounded up to 8. */
  maxRecordSize: 147456,
  /** The variable fields of fork and exec records, in record order. */
  varFields: [
    { name: 'path', max: 4096, kind: 'bytes', doc: 'executable path, raw bytes (no NUL terminator)' },
    { name: 'comm', max: 15, kind: 'bytes', doc: 'task comm, raw bytes (no NUL terminator)' },
    { name: 'argv', max: 65535, kind: 'list', doc: 'arguments, NUL-terminated items concatenated ("a\\0b\\0")' },
    { name: 'envp', max: 65535, kind: 'list', doc: 'environment, NUL-terminated items concatenated' },
    { name: 'ctx', max: 4352, kind: 'ctx', doc: '"tty\\0containerId\\0cgroup", or empty when all three are empty' },
    { name: 'interp', max: 4096, kind: 'bytes', doc: 'script interpreter path, raw bytes' },
  ] as readonly VarFieldSpec[],
  /** Bits of the `given` field of fork and exec records. */
  given: [
    { name: 'PATH', bit: 1, doc: 'path is given' },
    { name: 'COMM', bit: 2, doc: 'comm is given' },
    { name: 'ARGV', bit: 4, doc: 'argv is given (length 0 = no arguments)' },
    { name: 'ENVP', bit: 8, doc: 'envp is given (length 0 = empty environment)' },
    { name: 'CTX', bit: 16, doc: 'tty, containerId and cgroup are all given (length 0 = all empty); the kernel\'s case' },
    { name: 'INTERP', bit: 32, doc: 'interp is given' },
    { name: 'CTX_TTY', bit: 64, doc: 'partial ctx (JS sources only, never with CTX): tty is given' },
    { name: 'CTX_CONTAINER', bit: 128, doc: 'partial ctx: containerId is given' },
    { name: 'CTX_CGROUP', bit: 256, doc: 'partial ctx: cgroup is given' },
  ] as readonly { name: string; bit: number; doc: string }[],
  /**
   * The credential tuple: u32 words (records carry it, and the cache interns
   * one per credential set, src/cache/creds.ts), the bit of each field in a
   * credsMask, in field order, and the word of each field; a capability mask
   * is a u64 in two words, lo first.
   */
  credWords: CRED_TUPLE_WORDS,
  credBits: {
    uid: 1, gid: 2, euid: 4, egid: 8, fsuid: 16, fsgid: 32, auid: 64, capEffective: 128, capPermitted: 256,
  } as Readonly<Record<keyof Credentials, number>>,
  credWordIndex: {
    uid: 0, gid: 1, euid: 2, egid: 3, fsuid: 4, fsgid: 5, auid: 6, capEffective: 7, capPermitted: 9,
  } as Readonly<Record<keyof Credentials, number>>,
  types: [
    {
      name: 'PAD', code: 0, struct: 'PadRecord', event: 'pad',
      doc: 'filler the ring uses to skip to its start; size covers it (may be as short as 8 bytes)',
      fields: [], vars: [], flags: {},
    },
    {
      name: 'FORK', code: 1, struct: 'ForkRecord', event: 'fork',
      doc: 'a new process (the child); header time is the fork time',
      fields: [
        { name: 'pid', type: 'u32', doc: 'child pid' },
        { name: 'ppid', type: 'u32', doc: 'parent pid' },
        { name: 'inode', type: 'u64', doc: 'inode of the image the child inherits; 0 unknown' },
        { name: 'execTime', type: 'u64', doc: 'exec time of the image the child inherits; 0 unknown' },
        { name: 'creds', type: 'u32', count: CRED_TUPLE_WORDS, doc: 'credential tuple (CRED_WORD_* order)' },
        { name: 'credsMask', type: 'u16', doc: 'CRED_* bits: which credential fields are given' },
        { name: 'given', type: 'u16', doc: 'GIVEN_* bits: which variable fields are given' },
        ...NAMESPACE_FIELDS,
      ],
      vars: ['path', 'comm', 'argv', 'envp', 'ctx', 'interp'],
      flags: { KERNEL_THREAD: 1, ARGS_TRUNCATED: 2, ENVS_TRUNCATED: 4, SNAPSHOT: 8, PATH_TRUNCATED: 16 },
    },
    {
      name: 'EXEC', code: 2, struct: 'ExecRecord', event: 'exec',
      doc: 'a process ran a new image; header time is the exec time',
      fields: [
        { name: 'pid', type: 'u32', doc: 'pid' },
        { name: 'ppid', type: 'i32', doc: 'parent pid; -1 unknown' },
        { name: 'inode', type: 'u64', doc: 'inode of the new image; 0 unknown' },
        { name: 'prevInode', type: 'u64', doc: 'inode of the image run before; 0 unknown' },
        { name: 'creds', type: 'u32', count: CRED_TUPLE_WORDS, doc: 'credential tuple (CRED_WORD_* order)' },
        { name: 'credsMask', type: 'u16', doc: 'CRED_* bits: which credential fields are given' },
        { name: 'given', type: 'u16', doc: 'GIVEN_* bits: which variable fields are given' },
        ...NAMESPACE_FIELDS,
      ],
      vars: ['path', 'comm', 'argv', 'envp', 'ctx', 'interp'],
      flags: { ARGS_TRUNCATED: 2, ENVS_TRUNCATED: 4, PATH_TRUNCATED: 16 },
    },
    {
      name: 'EXIT', code: 3, struct: 'ExitRecord', event: 'exit',
      doc: 'a process exited',
      fields: [
        { name: 'pid', type: 'u32', doc: 'pid' },
        { name: 'exitCode', type: 'u32', doc: 'wait status (0..65535 used)' },
      ],
      vars: [], flags: {},
    },
    {
      name: 'CREDS', code: 4, struct: 'CredsRecord', event: 'creds',
      doc: 'credentials changed (setuid/setgid family, capset, login uid)',
      fields: [
        { name: 'pid', type: 'u32', doc: 'pid' },
        { name: 'credsMask', type: 'u32', doc: 'CRED_* bits: which credential fields changed' },
        { name: 'creds', type: 'u32', count: CRED_TUPLE_WORDS, doc: 'credential tuple; only masked fields are meaningful' },
      ],
      vars: [], flags: {},
    },
    {
      name: 'RENAME', code: 5, struct: 'RenameRecord', event: 'rename',
      doc: 'comm changed (prctl PR_SET_NAME, task_rename)',
      fields: [{ name: 'pid', type: 'u32', doc: 'pid' }],
      vars: ['comm'], flags: {},
    },
    {
      name: 'LOST', code: 6, struct: 'LostRecord', event: 'lost',
      doc: 'the kernel (or a ring) lost `count` records of the header\'s cpu',
      fields: [{ name: 'count', type: 'u32', doc: 'records lost' }],
      vars: [], flags: {},
    },
    {
      name: 'FLUSH', code: 7, struct: 'FlushRecord', event: 'flush',
      doc: 'dequeueExited(header time): flush exited pids older than the retention; sent to every shard',
      fields: [], vars: [], flags: {},
    },
    {
      name: 'DELETE', code: 8, struct: 'DeleteRecord', event: 'delete',
      doc: 'flush a pid from the live cache now (deleteEntry)',
      fields: [{ name: 'pid', type: 'u32', doc: 'pid' }],
      vars: [], flags: {},
    },
    {
      name: 'REPARENT', code: 9, struct: 'ReparentRecord', event: 'reparent',
      doc: 'the kernel reports a new parent for a process',
      fields: [
        { name: 'pid', type: 'u32', doc: 'pid' },
        { name: 'ppid', type: 'u32', doc: 'new parent pid' },
      ],
      vars: [], flags: {},
    },
    {
      name: 'LINK', code: 10, struct: 'LinkRecord', event: 'link',
      doc: 'internal (router -> parent\'s shard): a child forked at forkTime links to the parent generation alive then',
      fields: [
        { name: 'ppid', type: 'u32', doc: 'parent pid (its shard receives the record)' },
        { name: 'reserved', type: 'u32', doc: 'zero' },
        { name: 'inode', type: 'u64', doc: 'child\'s image inode at fork, for mismatch counting' },
        { name: 'forkTime', type: 'u64', doc: 'the child\'s fork time' },
      ],
      vars: [], flags: {},
    },
    {
      name: 'UNLINK', code: 11, struct: 'UnlinkRecord', event: 'unlink',
      doc: 'internal: drop the link made by the LINK of the same (ppid, forkTime)',
      fields: [
        { name: 'ppid', type: 'u32', doc: 'parent pid' },
        { name: 'reserved', type: 'u32', doc: 'zero' },
        { name: 'forkTime', type: 'u64', doc: 'the child\'s fork time' },
      ],
      vars: [], flags: {},
    },
    {
      name: 'CLOCK', code: 12, struct: 'ClockRecord', event: 'clock',
      doc: 'wall clock at the header\'s kernel time',
      fields: [{ name: 'wallTime', type: 'u64', doc: 'CLOCK_REALTIME ns (the wall clock)' }],
      vars: [], flags: {},
    },
  ] as readonly RecordTypeSpec[],
} as const;

// ---------------------------------------------------------------------------
// Derived layout

export interface FieldLayout extends FieldSpec {
  readonly offset: number;
  readonly size: number;
}

export interface RecordTypeLayout {
  readonly spec: RecordTypeSpec;
  readonly fields: readonly FieldLayout[];
  /** Offset of the u16 length table (equal to `varOffset` when there are no variable fields). */
  readonly lensOffset: number;
  /** Offset of the first variable byte; equals the end of the fixed part. */
  readonly varOffset: number;
  /** Smallest record size (all variable fields empty), rounded up to 8; the exact size of a fixed-size type. */
  readonly minSize: number;
  /** All bits its flags may have. */
  readonly flagMask: number;
}

export interface RecordLayout {
  readonly header: readonly FieldLayout[];
  readonly headerSize: number;
  readonly types: readonly RecordTypeLayout[];
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

function layoutFields(fields: readonly FieldSpec[], start: number, where: string): FieldLayout[] {
  let at = start;
  return fields.map((f) => {
    const unit = SIZE_OF[f.type];
    if (at % unit !== 0) throw new Error(`record spec: ${where}.${f.name} (${f.type}) at offset ${at} is not naturally aligned`);
    const out = { ...f, offset: at, size: unit * (f.count ?? 1) };
    at += out.size;
    return out;
  });
}

/** Offsets and sizes derived from a spec; throws when a field is not naturally aligned. */
export function recordLayout(spec: typeof RECORD_SPEC = RECORD_SPEC): RecordLayout {
  const header = layoutFields(spec.header, 0, 'header');
  const last = header[header.length - 1]!;
  const headerSize = last.offset + last.size;
  const types = spec.types.map((t): RecordTypeLayout => {
    const fields = layoutFields(t.fields, headerSize, t.name);
    const end = fields.length ? fields[fields.length - 1]!.offset + fields[fields.length - 1]!.size : headerSize;
    const varOffset = end + 2 * t.vars.length;
    let flagMask = 0;
    for (const bit of Object.values(t.flags)) flagMask |= bit;
    return { spec: t, fields, lensOffset: end, varOffset, minSize: align8(varOffset), flagMask };
  });
  return { header, headerSize, types };
}

export const RECORD_LAYOUT: RecordLayout = recordLayout();

/** `capEffective` -> `CAP_EFFECTIVE`. */
export function constName(camel: string): string {
  return camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export interface RecordConstant {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
  /** Constants of a group are declared together. */
  readonly group: string;
}

/**
 * Every numeric constant of the format, derived from the spec, in the order
 * the generated headers declare them. constants.ts exports each one under the
 * same name as a literal (checked by test/record/record.test.ts).
 */
export function recordConstants(spec: typeof RECORD_SPEC = RECORD_SPEC): RecordConstant[] {
  const layout = recordLayout(spec);
  const out: RecordConstant[] = [];
  let group = 'limits';
  const add = (name: string, value: number, doc: string) => out.push({ name, value, doc, group });
  add('RECORD_ALIGN', spec.align, 'every record starts at and spans a multiple of this');
  add('HEADER_SIZE', layout.headerSize, 'bytes of the common header');
  add('PAD_MIN_SIZE', spec.padMinSize, 'smallest PAD record');
  add('MAX_RECORD_SIZE', spec.maxRecordSize, 'largest record');
  group = 'header';
  for (const f of layout.header) add(`H_${constName(f.name)}`, f.offset, `header: ${f.type} ${f.name}: ${f.doc}`);
  group = 'types';
  for (const t of spec.types) add(`REC_${t.name}`, t.code, t.doc);
  add('REC_TYPE_COUNT', spec.types.length, 'type codes are 0 .. REC_TYPE_COUNT - 1');
  group = 'flags';
  const flagBits = new Map<string, number>();
  for (const t of spec.types) {
    for (const [name, bit] of Object.entries(t.flags)) {
      const seen = flagBits.get(name);
      if (seen !== undefined && seen !== bit) throw new Error(`record spec: flag ${name} has two values`);
      flagBits.set(name, bit);
    }
  }
  for (const [name, bit] of flagBits) {
    const users = spec.types.filter((t) => t.flags[name] !== undefined).map((t) => t.name).join(', ');
    add(`FLAG_${name}`, bit, `flags bit of ${users}`);
  }
  group = 'given';
  for (const g of spec.given) add(`GIVEN_${g.name}`, g.bit, g.doc);
  const tty = spec.given.find((g) => g.name === 'CTX_TTY')!.bit;
  add('GIVEN_CTX_PARTS_SHIFT', Math.log2(tty), '(given >> this) & 7: the CTX_TTY|CTX_CONTAINER|CTX_CGROUP mask of a partial ctx');
  group = 'var';
  spec.varFields.forEach((v, i) => add(`VAR_${constName(v.name)}`, i, `index in the lens table of FORK, EXEC: ${v.doc}`));
  add('VAR_COUNT', spec.varFields.length, 'variable fields of FORK, EXEC');
  group = 'bounds';
  for (const v of spec.varFields) add(`MAX_${constName(v.name)}_BYTES`, v.max, `bound of ${v.name}`);
  group = 'creds';
  for (const [name, bit] of Object.entries(spec.credBits)) add(`CRED_${constName(name)}`, bit, `credsMask bit: ${name}`);
  let all = 0;
  for (const bit of Object.values(spec.credBits)) all |= bit;
  add('CRED_MASK_ALL', all, 'every credential field');
  add('CRED_WORD_COUNT', spec.credWords, 'u32 words of the credential tuple');
  for (const [name, w] of Object.entries(spec.credWordIndex)) {
    add(`CRED_WORD_${constName(name)}`, w, `word of ${name} in the tuple${w >= 7 ? ' (u64: lo word, hi word next)' : ''}`);
  }
  for (const t of layout.types) {
    if (t.spec.code === 0) continue;
    group = t.spec.name;
    for (const f of t.fields) add(`${t.spec.name}_${constName(f.name)}`, f.offset, `${t.spec.name}: ${f.type}${f.count ? `[${f.count}]` : ''} ${f.name}`);
    if (t.spec.vars.length) {
      add(`${t.spec.name}_LENS`, t.lensOffset, `${t.spec.name}: u16 lengths of ${t.spec.vars.join(', ')}`);
      add(`${t.spec.name}_VAR`, t.varOffset, `${t.spec.name}: first variable byte`);
      add(`${t.spec.name}_MIN_SIZE`, t.minSize, `${t.spec.name}: size with empty variable fields`);
    } else {
      add(`${t.spec.name}_SIZE`, t.minSize, `${t.spec.name}: record size`);
    }
  }
  return out;
}

/** Credential field names in credsMask bit order (field f has bit 1 << f). */
export const CRED_FIELDS: readonly (keyof Credentials)[] = Object.keys(RECORD_SPEC.credBits) as (keyof Credentials)[];
