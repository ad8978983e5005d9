// The binary record format: one definition for TypeScript and C++.
//
// Records travel from the BPF programs through the native reader thread into
// the shard rings (and into replay files), and are decoded by the shard
// workers. RECORD_SPEC below is the single source of truth: the offsets are
// derived from it (recordLayout), native/record.h is generated from it
// (scripts/gen-record-header.mjs), and the literal constants used on the hot
// paths (H_*, REC_*, FORK_*, ...) are checked against it by
// test/pipeline/record.test.ts. docs/record-format.md describes the format.
//
// Hot paths: encodeEvent and the small encoders (encodeLink, encodeFlush, ...)
// write straight into the caller's buffer and allocate nothing but what a
// bigint or a non-ASCII string forces. decodeEvent is the slow path for tools
// and tests; workers read fields at the constant offsets after
// validateRecord has accepted a record.

import { C_AUID, C_CAP_EFF, C_CAP_PRM, C_EGID, C_EUID, C_FSGID, C_FSUID, C_GID, C_UID, CRED_BIT, CRED_FIELDS, CRED_WORDS } from '../cache/creds.js';
import type { ByteString, Credentials } from '../cache/types.js';
import type { ForkEvent, ExecEvent, StreamEvent } from './events.js';

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
  /** C++ struct name in native/record.h. */
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
  /** Credential tuple (src/cache/creds.ts): word order and the bits of credsMask. */
  credWords: CRED_WORDS,
  credBits: CRED_BIT as Readonly<Record<string, number>>,
  /** Word index of each field in the tuple; a capability mask is a u64 in two words, lo first. */
  credWordIndex: {
    uid: C_UID, gid: C_GID, euid: C_EUID, egid: C_EGID, fsuid: C_FSUID, fsgid: C_FSGID, auid: C_AUID,
    capEffective: C_CAP_EFF, capPermitted: C_CAP_PRM,
  } as Readonly<Record<string, number>>,
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
        { name: 'creds', type: 'u32', count: CRED_WORDS, doc: 'credential tuple (creds.ts word order)' },
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
        { name: 'creds', type: 'u32', count: CRED_WORDS, doc: 'credential tuple (creds.ts word order)' },
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
        { name: 'creds', type: 'u32', count: CRED_WORDS, doc: 'credential tuple; only masked fields are meaningful' },
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
 * native/record.h declares them. record.ts exports each one under the same
 * name as a literal (checked by the test).
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

// ---------------------------------------------------------------------------
// Constants for the hot paths (literals: the test checks them against the spec)

export const RECORD_ALIGN = 8;
export const HEADER_SIZE = 40;
export const PAD_MIN_SIZE = 8;
export const MAX_RECORD_SIZE = 147456;

export const H_TYPE = 0;
export const H_FLAGS = 2;
export const H_SIZE = 4;
export const H_CPU = 8;
export const H_PIDNS = 12;
export const H_TIME = 16;
export const H_CPU_SEQ = 24;
export const H_GSEQ = 32;

export const REC_PAD = 0;
export const REC_FORK = 1;
export const REC_EXEC = 2;
export const REC_EXIT = 3;
export const REC_CREDS = 4;
export const REC_RENAME = 5;
export const REC_LOST = 6;
export const REC_FLUSH = 7;
export const REC_DELETE = 8;
export const REC_REPARENT = 9;
export const REC_LINK = 10;
export const REC_UNLINK = 11;
export const REC_CLOCK = 12;
export const REC_TYPE_COUNT = 13;

export const FLAG_KERNEL_THREAD = 1;
export const FLAG_ARGS_TRUNCATED = 2;
export const FLAG_ENVS_TRUNCATED = 4;
export const FLAG_SNAPSHOT = 8;
export const FLAG_PATH_TRUNCATED = 16;

export const GIVEN_PATH = 1;
export const GIVEN_COMM = 2;
export const GIVEN_ARGV = 4;
export const GIVEN_ENVP = 8;
export const GIVEN_CTX = 16;
export const GIVEN_INTERP = 32;
export const GIVEN_CTX_TTY = 64;
export const GIVEN_CTX_CONTAINER = 128;
export const GIVEN_CTX_CGROUP = 256;
export const GIVEN_CTX_PARTS_SHIFT = 6;

export const VAR_PATH = 0;
export const VAR_COMM = 1;
export const VAR_ARGV = 2;
export const VAR_ENVP = 3;
export const VAR_CTX = 4;
export const VAR_INTERP = 5;
export const VAR_COUNT = 6;

export const MAX_PATH_BYTES = 4096;
export const MAX_COMM_BYTES = 15;
export const MAX_ARGV_BYTES = 65535;
export const MAX_ENVP_BYTES = 65535;
export const MAX_CTX_BYTES = 4352;
export const MAX_INTERP_BYTES = 4096;

export const CRED_UID = 1;
export const CRED_GID = 2;
export const CRED_EUID = 4;
export const CRED_EGID = 8;
export const CRED_FSUID = 16;
export const CRED_FSGID = 32;
export const CRED_AUID = 64;
export const CRED_CAP_EFFECTIVE = 128;
export const CRED_CAP_PERMITTED = 256;
export const CRED_MASK_ALL = 511;
export const CRED_WORD_COUNT = 11;
export const CRED_WORD_UID = 0;
export const CRED_WORD_GID = 1;
export const CRED_WORD_EUID = 2;
export const CRED_WORD_EGID = 3;
export const CRED_WORD_FSUID = 4;
export const CRED_WORD_FSGID = 5;
export const CRED_WORD_AUID = 6;
export const CRED_WORD_CAP_EFFECTIVE = 7;
export const CRED_WORD_CAP_PERMITTED = 9;

export const FORK_PID = 40;
export const FORK_PPID = 44;
export const FORK_INODE = 48;
export const FORK_EXEC_TIME = 56;
export const FORK_CREDS = 64;
export const FORK_CREDS_MASK = 108;
export const FORK_GIVEN = 110;
export const FORK_MOUNT_ID = 112;
export const FORK_NS_PID = 116;
export const FORK_PIDNS_INODE = 120;
export const FORK_RESERVED = 124;
export const FORK_CGROUP_ID = 128;
export const FORK_LENS = 136;
export const FORK_VAR = 148;
export const FORK_MIN_SIZE = 152;

export const EXEC_PID = 40;
export const EXEC_PPID = 44;
export const EXEC_INODE = 48;
export const EXEC_PREV_INODE = 56;
export const EXEC_CREDS = 64;
export const EXEC_CREDS_MASK = 108;
export const EXEC_GIVEN = 110;
export const EXEC_MOUNT_ID = 112;
export const EXEC_NS_PID = 116;
export const EXEC_PIDNS_INODE = 120;
export const EXEC_RESERVED = 124;
export const EXEC_CGROUP_ID = 128;
export const EXEC_LENS = 136;
export const EXEC_VAR = 148;
export const EXEC_MIN_SIZE = 152;

export const EXIT_PID = 40;
export const EXIT_EXIT_CODE = 44;
export const EXIT_SIZE = 48;

export const CREDS_PID = 40;
export const CREDS_CREDS_MASK = 44;
export const CREDS_CREDS = 48;
export const CREDS_SIZE = 96;

export const RENAME_PID = 40;
export const RENAME_LENS = 44;
export const RENAME_VAR = 46;
export const RENAME_MIN_SIZE = 48;

export const LOST_COUNT = 40;
export const LOST_SIZE = 48;

export const FLUSH_SIZE = 40;

export const DELETE_PID = 40;
export const DELETE_SIZE = 48;

export const REPARENT_PID = 40;
export const REPARENT_PPID = 44;
export const REPARENT_SIZE = 48;

export const LINK_PPID = 40;
export const LINK_RESERVED = 44;
export const LINK_INODE = 48;
export const LINK_FORK_TIME = 56;
export const LINK_SIZE = 64;

export const UNLINK_PPID = 40;
export const UNLINK_RESERVED = 44;
export const UNLINK_FORK_TIME = 48;
export const UNLINK_SIZE = 56;

export const CLOCK_WALL_TIME = 40;
export const CLOCK_SIZE = 48;

/** The CTX_TTY|CTX_CONTAINER|CTX_CGROUP mask (src/cache/apply.ts) of a fork/exec `given` field. */
export function ctxMaskOfGiven(given: number): number {
  return (given & GIVEN_CTX) !== 0 ? 7 : (given >> GIVEN_CTX_PARTS_SHIFT) & 7;
}

// Per type code: flags allowed, fixed size (or min size for var types).
const FLAG_MASK: readonly number[] = RECORD_LAYOUT.types.map((t) => t.flagMask);
const MIN_SIZE: readonly number[] = RECORD_LAYOUT.types.map((t) => t.minSize);
const HAS_VARS: readonly boolean[] = RECORD_LAYOUT.types.map((t) => t.spec.vars.length > 0);
const TYPE_NAME: readonly string[] = RECORD_SPEC.types.map((t) => t.name);
const VAR_NAME: readonly string[] = RECORD_SPEC.varFields.map((v) => v.name);
const VAR_MAX: readonly number[] = RECORD_SPEC.varFields.map((v) => v.max);
const GIVEN_ALL: number = RECORD_SPEC.given.reduce((m, g) => m | g.bit, 0);

// ---------------------------------------------------------------------------
// Event shapes that are not stream events

/** Internal (router -> parent's shard): link the child forked at `forkTime` to the parent generation alive then. */
export interface LinkEvent {
  type: 'link';
  time: bigint;
  cpu: number;
  pidns: number;
  ppid: number;
  /** The child's image inode at fork (0 unknown). */
  inode: number;
  forkTime: bigint;
}

/** Internal: drop the link of (ppid, forkTime). */
export interface UnlinkEvent {
  type: 'unlink';
  time: bigint;
  cpu: number;
  pidns: number;
  ppid: number;
  forkTime: bigint;
}

/** Wall clock (`wallTime`, CLOCK_REALTIME ns) at kernel time `time`. */
export interface ClockEvent {
  type: 'clock';
  time: bigint;
  cpu: number;
  wallTime: bigint;
}

/** Filler; carries nothing. */
export interface PadRecord {
  type: 'pad';
  size: number;
}

/** Everything encodeEvent takes. */
export type RecordEvent = StreamEvent | LinkEvent | UnlinkEvent | ClockEvent;
/** Everything decodeEvent returns. */
export type DecodedRecord = RecordEvent | PadRecord;

export interface RecordHeader {
  type: number;
  flags: number;
  size: number;
  cpu: number;
  pidns: number;
  time: bigint;
  cpuSeq: bigint;
  gseq: bigint;
}

export interface RecordSeq {
  cpuSeq: bigint;
  gseq: bigint;
}

/** A record that is not well-formed (decodeEvent); `offset` is where the record starts. */
export class RecordError extends Error {
  readonly code = 'ERR_FORKLINE_RECORD';
  constructor(message: string, readonly offset: number) {
    super(`bad record at offset ${offset}: ${message}`);
    this.name = 'RecordError';
  }
}

// ---------------------------------------------------------------------------
// Small helpers

const TWO32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;

/** Writes a non-negative integer below 2^53 as a u64 without a bigint. */
export function setU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / TWO32) >>> 0, true);
}

/** Reads a u64 as a number (exact below 2^53). */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * TWO32 + dv.getUint32(off, true);
}

/** Stamps the global sequence number of the record at `off` (router). */
export function stampGseq(dv: DataView, off: number, gseq: number): void {
  setU64(dv, off + H_GSEQ, gseq);
}

// One cached DataView per direction: the caller usually writes into (or reads
// from) the same buffer over and over, and a DataView per call would be an
// allocation per record. A different buffer just replaces the cached view.
let encOut: Uint8Array | undefined;
let encView: DataView = new DataView(new ArrayBuffer(0));
let decIn: Uint8Array | undefined;
let decView: DataView = encView;

function viewForEncode(out: Uint8Array): DataView {
  if (out !== encOut) {
    if (!(out instanceof Uint8Array)) throw new TypeError('encodeEvent: out must be a Uint8Array');
    encView = new DataView(out.buffer, out.byteOffset, out.byteLength);
    encOut = out;
  }
  return encView;
}

function viewForDecode(bytes: Uint8Array): DataView {
  if (bytes !== decIn) {
    decView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    decIn = bytes;
  }
  return decView;
}

const encoder = new TextEncoder();

/** UTF-8 length of `s` as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // two units, four bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

const OVER_BOUND = -1;
const NO_ROOM = -2;
const HAS_NUL = -3;
const WRONG_TYPE = -4;

/** Strings up to this many UTF-16 units are copied by a loop; longer ones by TextEncoder.encodeInto. */
const SHORT_STRING = 24;

/**
 * Writes the bytes of `v` at `pos`, at most `max` of them and within `end`.
 * Returns the count, or OVER_BOUND / NO_ROOM / HAS_NUL (when `noNul`).
 *
 * Short ASCII strings (most comms, short paths and arguments) are copied by a
 * loop: no allocation. Longer or non-ASCII ones go through encodeInto, whose
 * only cost beyond the copy is the subarray view it needs (measured: faster
 * than the loop from ~24 characters on).
 */
function putBytes(out: Uint8Array, pos: number, end: number, v: ByteString, max: number, noNul: boolean): number {
  if (typeof v === 'string') {
    const n = v.length;
    if (n > max) return OVER_BOUND; // UTF-8 never has fewer bytes than UTF-16 units
    if (n <= SHORT_STRING && pos + n <= end) {
      let i = 0;
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80 || c === 0) break;
        out[pos + i] = c;
      }
      if (i === n) return n;
    }
    if (noNul && v.indexOf('\0') !== -1) return HAS_NUL;
    const room = Math.min(max, end - pos);
    if (room <= 0) return n === 0 ? 0 : utf8Length(v) > max ? OVER_BOUND : NO_ROOM;
    const r = encoder.encodeInto(v, out.subarray(pos, pos + room));
    if (r.read! < n) return utf8Length(v) > max ? OVER_BOUND : NO_ROOM;
    return r.written!;
  }
  if (!(v instanceof Uint8Array)) return WRONG_TYPE;
  const n = v.length;
  if (n > max) return OVER_BOUND;
  if (pos + n > end) return NO_ROOM;
  if (noNul && v.indexOf(0) !== -1) return HAS_NUL;
  if (n <= SHORT_STRING) for (let i = 0; i < n; i++) out[pos + i] = v[i]!;
  else out.set(v, pos);
  return n;
}

function bytesError(code: number, field: string, max: number, v: unknown): Error {
  if (code === OVER_BOUND) return new RangeError(`${field} is over its bound of ${max} bytes`);
  if (code === NO_ROOM) return new RangeError(`${field} does not fit in the output buffer`);
  if (code === HAS_NUL) return new TypeError(`${field} contains a NUL byte`);
  return new TypeError(`${field} must be a string or a Uint8Array, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'string') return 'a string';
  return typeof v;
}

function u32Error(field: string, v: unknown): Error {
  if (typeof v !== 'number') return new TypeError(`${field} must be a number, got ${describe(v)}`);
  return new RangeError(`${field} must be an integer in 0..4294967295, got ${v}`);
}

// The checks take the record and field names apart and join them only to
// report an error: a template string per call would be an allocation per field.

function checkU32(v: number, what: string, field: string): number {
  if (v >>> 0 !== v) throw u32Error(`${what}.${field}`, v);
  return v;
}

function checkU64n(v: number, what: string, field: string): number {
  if (!(v >= 0 && Number.isSafeInteger(v))) {
    if (typeof v !== 'number') throw new TypeError(`${what}.${field} must be a number, got ${describe(v)}`);
    throw new RangeError(`${what}.${field} must be a non-negative safe integer, got ${v}`);
  }
  return v;
}

function checkU64(v: bigint, what: string, field: string): bigint {
  if (typeof v !== 'bigint') throw new TypeError(`${what}.${field} must be a bigint, got ${describe(v)}`);
  if (v < 0n || v > U64_MAX) throw new RangeError(`${what}.${field} must be in 0..2^64-1, got ${v}`);
  return v;
}

function needRoom(out: Uint8Array, off: number, n: number, what: string): void {
  if (off < 0 || (off & 7) !== 0 || !Number.isInteger(off)) {
    throw new RangeError(`${what}: offset ${off} is not a non-negative multiple of 8`);
  }
  if (off + n > out.length) throw new RangeError(`${what}: ${n} bytes do not fit at offset ${off} of a ${out.length}-byte buffer`);
}

function writeHeader(
  dv: DataView, off: number, type: number, flags: number, size: number, cpu: number, pidns: number, time: bigint,
  seq: RecordSeq | undefined, what: string,
): void {
  dv.setUint16(off + H_TYPE, type, true);
  dv.setUint16(off + H_FLAGS, flags, true);
  dv.setUint32(off + H_SIZE, size, true);
  dv.setUint32(off + H_CPU, checkU32(cpu, what, 'cpu'), true);
  dv.setUint32(off + H_PIDNS, checkU32(pidns, what, 'pidns'), true);
  dv.setBigUint64(off + H_TIME, checkU64(time, what, 'time'), true);
  if (seq === undefined) {
    dv.setUint32(off + H_CPU_SEQ, 0, true);
    dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
    dv.setUint32(off + H_GSEQ, 0, true);
    dv.setUint32(off + H_GSEQ + 4, 0, true);
  } else {
    dv.setBigUint64(off + H_CPU_SEQ, checkU64(seq.cpuSeq, 'seq', 'cpuSeq'), true);
    dv.setBigUint64(off + H_GSEQ, checkU64(seq.gseq, 'seq', 'gseq'), true);
  }
}

/** Zeroes `out[from, to)` (record padding, unused words). */
function zero(out: Uint8Array, from: number, to: number): void {
  for (let p = from; p < to; p++) out[p] = 0;
}

/** One u32 credential word: -1 or undefined is "not given" (returns 0), else its mask bit. */
function putCred(dv: DataView, pos: number, v: number | undefined, bit: number, what: string, field: string): number {
  if (v === undefined || v === -1) return 0;
  if (v >>> 0 !== v) throw u32Error(`${what}.credentials.${field}`, v);
  dv.setUint32(pos, v, true);
  return bit;
}

/**
 * Writes the 11-word tuple at `pos` (words of fields not given are zero);
 * returns the mask of the fields given. Unrolled: a loop over field names
 * would be a keyed property load per field.
 */
function putCreds(dv: DataView, pos: number, c: Partial<Credentials> | undefined, what: string): number {
  for (let w = 0; w < CRED_WORDS; w++) dv.setUint32(pos + 4 * w, 0, true);
  if (c === undefined) return 0;
  if (typeof c !== 'object' || c === null) throw new TypeError(`${what}.credentials must be an object, got ${describe(c)}`);
  let mask = putCred(dv, pos + 4 * CRED_WORD_UID, c.uid, CRED_UID, what, 'uid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_GID, c.gid, CRED_GID, what, 'gid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_EUID, c.euid, CRED_EUID, what, 'euid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_EGID, c.egid, CRED_EGID, what, 'egid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_FSUID, c.fsuid, CRED_FSUID, what, 'fsuid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_FSGID, c.fsgid, CRED_FSGID, what, 'fsgid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_AUID, c.auid, CRED_AUID, what, 'auid');
  // a capability mask is a u64 at words 7-8 / 9-10, lo word first: exactly a little-endian u64
  const eff = c.capEffective;
  if (eff !== undefined && eff !== -1n) {
    dv.setBigUint64(pos + 4 * CRED_WORD_CAP_EFFECTIVE, checkU64(eff, what, 'credentials.capEffective'), true);
    mask |= CRED_CAP_EFFECTIVE;
  }
  const prm = c.capPermitted;
  if (prm !== undefined && prm !== -1n) {
    dv.setBigUint64(pos + 4 * CRED_WORD_CAP_PERMITTED, checkU64(prm, what, 'credentials.capPermitted'), true);
    mask |= CRED_CAP_PERMITTED;
  }
  return mask;
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * Encodes `ev` at `out[off]` (a multiple of 8) and returns the bytes written
 * (the record's size). Fields that are undefined are "not given"; -1
 * credential fields are left out of credsMask. Throws a RangeError naming the
 * field when a value is over its bound or the buffer is too small, a
 * TypeError for a value of the wrong type or a NUL inside an argument or a
 * context part. Allocates nothing on the common path (ASCII strings).
 */
export function encodeEvent(ev: RecordEvent, out: Uint8Array, off: number, seq?: RecordSeq): number {
  const dv = viewForEncode(out);
  switch (ev.type) {
    case 'fork':
      return encodeImage(ev, REC_FORK, out, dv, off, seq);
    case 'exec':
      return encodeImage(ev, REC_EXEC, out, dv, off, seq);
    case 'exit':
      needRoom(out, off, EXIT_SIZE, 'exit');
      writeHeader(dv, off, REC_EXIT, 0, EXIT_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'exit');
      dv.setUint32(off + EXIT_PID, checkU32(ev.pid, 'exit', 'pid'), true);
      dv.setUint32(off + EXIT_EXIT_CODE, checkU32(ev.exitCode, 'exit', 'exitCode'), true);
      return EXIT_SIZE;
    case 'creds': {
      needRoom(out, off, CREDS_SIZE, 'creds');
      writeHeader(dv, off, REC_CREDS, 0, CREDS_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'creds');
      dv.setUint32(off + CREDS_PID, checkU32(ev.pid, 'creds', 'pid'), true);
      if (ev.credentials === undefined) throw new TypeError('creds.credentials must be an object, got undefined');
      dv.setUint32(off + CREDS_CREDS_MASK, putCreds(dv, off + CREDS_CREDS, ev.credentials, 'creds'), true);
      dv.setUint32(off + CREDS_CREDS + 4 * CRED_WORDS, 0, true);
      return CREDS_SIZE;
    }
    case 'rename': {
      needRoom(out, off, RENAME_MIN_SIZE, 'rename');
      const n = putBytes(out, off + RENAME_VAR, out.length, ev.comm, MAX_COMM_BYTES, false);
      if (n < 0) throw bytesError(n, 'rename.comm', MAX_COMM_BYTES, ev.comm);
      const size = align8(RENAME_VAR + n);
      if (off + size > out.length) throw bytesError(NO_ROOM, 'rename record', 0, null);
      writeHeader(dv, off, REC_RENAME, 0, size, ev.cpu, ev.pidns, ev.time, seq, 'rename');
      dv.setUint32(off + RENAME_PID, checkU32(ev.pid, 'rename', 'pid'), true);
      dv.setUint16(off + RENAME_LENS, n, true);
      zero(out, off + RENAME_VAR + n, off + size);
      return size;
    }
    case 'lost':
      needRoom(out, off, LOST_SIZE, 'lost');
      writeHeader(dv, off, REC_LOST, 0, LOST_SIZE, ev.cpu, 0, ev.time, seq, 'lost');
      dv.setUint32(off + LOST_COUNT, checkU32(ev.count, 'lost', 'count'), true);
      dv.setUint32(off + LOST_COUNT + 4, 0, true);
      return LOST_SIZE;
    case 'flush':
      needRoom(out, off, FLUSH_SIZE, 'flush');
      writeHeader(dv, off, REC_FLUSH, 0, FLUSH_SIZE, ev.cpu, 0, ev.time, seq, 'flush');
      return FLUSH_SIZE;
    case 'delete':
      needRoom(out, off, DELETE_SIZE, 'delete');
      writeHeader(dv, off, REC_DELETE, 0, DELETE_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'delete');
      dv.setUint32(off + DELETE_PID, checkU32(ev.pid, 'delete', 'pid'), true);
      dv.setUint32(off + DELETE_PID + 4, 0, true);
      return DELETE_SIZE;
    case 'reparent':
      needRoom(out, off, REPARENT_SIZE, 'reparent');
      writeHeader(dv, off, REC_REPARENT, 0, REPARENT_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'reparent');
      dv.setUint32(off + REPARENT_PID, checkU32(ev.pid, 'reparent', 'pid'), true);
      dv.setUint32(off + REPARENT_PPID, checkU32(ev.ppid, 'reparent', 'ppid'), true);
      return REPARENT_SIZE;
    case 'link':
      needRoom(out, off, LINK_SIZE, 'link');
      writeHeader(dv, off, REC_LINK, 0, LINK_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'link');
      dv.setUint32(off + LINK_PPID, checkU32(ev.ppid, 'link', 'ppid'), true);
      dv.setUint32(off + LINK_RESERVED, 0, true);
      setU64(dv, off + LINK_INODE, checkU64n(ev.inode, 'link', 'inode'));
      dv.setBigUint64(off + LINK_FORK_TIME, checkU64(ev.forkTime, 'link', 'forkTime'), true);
      return LINK_SIZE;
    case 'unlink':
      needRoom(out, off, UNLINK_SIZE, 'unlink');
      writeHeader(dv, off, REC_UNLINK, 0, UNLINK_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'unlink');
      dv.setUint32(off + UNLINK_PPID, checkU32(ev.ppid, 'unlink', 'ppid'), true);
      dv.setUint32(off + UNLINK_RESERVED, 0, true);
      dv.setBigUint64(off + UNLINK_FORK_TIME, checkU64(ev.forkTime, 'unlink', 'forkTime'), true);
      return UNLINK_SIZE;
    case 'clock':
      needRoom(out, off, CLOCK_SIZE, 'clock');
      writeHeader(dv, off, REC_CLOCK, 0, CLOCK_SIZE, ev.cpu, 0, ev.time, seq, 'clock');
      dv.setBigUint64(off + CLOCK_WALL_TIME, checkU64(ev.wallTime, 'clock', 'wallTime'), true);
      return CLOCK_SIZE;
    default:
      throw new TypeError(`encodeEvent: unknown event type ${describe((ev as { type?: unknown }).type)}`);
  }
}

/** Fork and exec share one layout (FORK_* === EXEC_* offsets). */
function encodeImage(
  ev: ForkEvent | ExecEvent, code: number, out: Uint8Array, dv: DataView, off: number, seq: RecordSeq | undefined,
): number {
  const what = code === REC_FORK ? 'fork' : 'exec';
  needRoom(out, off, FORK_MIN_SIZE, what);
  dv.setUint32(off + FORK_PID, checkU32(ev.pid, what, 'pid'), true);
  let flags = 0;
  if (code === REC_FORK) {
    const f = ev as ForkEvent;
    dv.setUint32(off + FORK_PPID, checkU32(f.ppid, 'fork', 'ppid'), true);
    dv.setBigUint64(off + FORK_EXEC_TIME, checkU64(f.execTime, 'fork', 'execTime'), true);
    if (f.kernelThread === true) flags |= FLAG_KERNEL_THREAD;
    if (f.snapshot === true) flags |= FLAG_SNAPSHOT;
  } else {
    const e = ev as ExecEvent;
    const ppid = e.ppid;
    if ((ppid | 0) !== ppid || ppid < -1) {
      if (typeof ppid !== 'number') throw new TypeError(`exec.ppid must be a number, got ${describe(ppid)}`);
      throw new RangeError(`exec.ppid must be -1 or an integer in 0..2147483647, got ${ppid}`);
    }
    dv.setInt32(off + EXEC_PPID, ppid, true);
    setU64(dv, off + EXEC_PREV_INODE, checkU64n(e.prevInode, 'exec', 'prevInode'));
  }
  if (ev.argsTruncated === true) flags |= FLAG_ARGS_TRUNCATED;
  if (ev.envsTruncated === true) flags |= FLAG_ENVS_TRUNCATED;
  if (ev.pathTruncated === true) flags |= FLAG_PATH_TRUNCATED;
  setU64(dv, off + FORK_INODE, checkU64n(ev.inode, what, 'inode'));
  dv.setUint16(off + FORK_CREDS_MASK, putCreds(dv, off + FORK_CREDS, ev.credentials, what), true);
  const mountId = ev.mountId;
  const nsPid = ev.nsPid;
  const pidnsInode = ev.pidnsInode;
  const cgroupId = ev.cgroupId;
  dv.setUint32(off + FORK_MOUNT_ID, mountId === undefined ? 0 : checkU32(mountId, what, 'mountId'), true);
  dv.setUint32(off + FORK_NS_PID, nsPid === undefined ? 0 : checkU32(nsPid, what, 'nsPid'), true);
  dv.setUint32(off + FORK_PIDNS_INODE, pidnsInode === undefined ? 0 : checkU32(pidnsInode, what, 'pidnsInode'), true);
  dv.setUint32(off + FORK_RESERVED, 0, true);
  if (cgroupId === undefined) setU64(dv, off + FORK_CGROUP_ID, 0);
  else dv.setBigUint64(off + FORK_CGROUP_ID, checkU64(cgroupId, what, 'cgroupId'), true);

  const end = out.length;
  const lens = off + FORK_LENS;
  let pos = off + FORK_VAR;
  let given = 0;
  let n = 0;

  if (ev.path !== undefined) {
    n = putBytes(out, pos, end, ev.path, MAX_PATH_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.path`, MAX_PATH_BYTES, ev.path);
    pos += n;
    given |= GIVEN_PATH;
  } else n = 0;
  dv.setUint16(lens, n, true);

  if (ev.comm !== undefined) {
    n = putBytes(out, pos, end, ev.comm, MAX_COMM_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.comm`, MAX_COMM_BYTES, ev.comm);
    pos += n;
    given |= GIVEN_COMM;
  } else n = 0;
  dv.setUint16(lens + 2, n, true);

  if (ev.argv !== undefined) {
    n = putList(out, pos, end, ev.argv, MAX_ARGV_BYTES, what, 'argv');
    pos += n;
    given |= GIVEN_ARGV;
  } else n = 0;
  dv.setUint16(lens + 4, n, true);

  if (ev.envp !== undefined) {
    n = putList(out, pos, end, ev.envp, MAX_ENVP_BYTES, what, 'envp');
    pos += n;
    given |= GIVEN_ENVP;
  } else n = 0;
  dv.setUint16(lens + 6, n, true);

  const tty = ev.tty;
  const ctr = ev.containerId;
  const cg = ev.cgroup;
  if (tty !== undefined || ctr !== undefined || cg !== undefined) {
    if (tty !== undefined && ctr !== undefined && cg !== undefined) given |= GIVEN_CTX;
    else {
      if (tty !== undefined) given |= GIVEN_CTX_TTY;
      if (ctr !== undefined) given |= GIVEN_CTX_CONTAINER;
      if (cg !== undefined) given |= GIVEN_CTX_CGROUP;
    }
    n = putCtx(out, pos, end, tty ?? '', ctr ?? '', cg ?? '', what);
    pos += n;
  } else n = 0;
  dv.setUint16(lens + 8, n, true);

  if (ev.interpreter !== undefined) {
    n = putBytes(out, pos, end, ev.interpreter, MAX_INTERP_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.interpreter`, MAX_INTERP_BYTES, ev.interpreter);
    pos += n;
    given |= GIVEN_INTERP;
  } else n = 0;
  dv.setUint16(lens + 10, n, true);

  dv.setUint16(off + FORK_GIVEN, given, true);
  const size = align8(pos - off);
  // unreachable while the bounds above hold; kept so that a bound raised later cannot overflow a ring slot
  if (size > MAX_RECORD_SIZE) throw new RangeError(`${what} record of ${size} bytes is over MAX_RECORD_SIZE (${MAX_RECORD_SIZE})`);
  if (off + size > end) throw new RangeError(`${what}: record of ${size} bytes does not fit in the output buffer`);
  zero(out, pos, off + size);
  writeHeader(dv, off, code, flags, size, ev.cpu, ev.pidns, ev.time, seq, what);
  return size;
}

/** Writes NUL-terminated items; returns the blob length. */
function putList(
  out: Uint8Array, pos: number, end: number, items: readonly ByteString[], max: number, what: string, field: string,
): number {
  if (!Array.isArray(items)) throw new TypeError(`${what}.${field} must be an array, got ${describe(items)}`);
  let at = pos;
  let left = max;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    // room for the item's NUL is kept out of the bound given to putBytes
    const n = left > 0 ? putBytes(out, at, end - 1, item, left - 1, true) : OVER_BOUND;
    if (n < 0) {
      if (n === OVER_BOUND) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes (item ${i} does not fit)`);
      throw bytesError(n, `${what}.${field}[${i}]`, max, item);
    }
    at += n;
    out[at++] = 0;
    left -= n + 1;
  }
  return at - pos;
}

/** Writes "tty\0containerId\0cgroup" (nothing when all three are empty); returns the length. */
function putCtx(out: Uint8Array, pos: number, end: number, tty: string, ctr: string, cg: string, what: string): number {
  let at = pos;
  let left = MAX_CTX_BYTES - 2; // the two separators
  let n = putBytes(out, at, end - 2, tty, left, true);
  if (n < 0) throw ctxError(n, what, 'tty', tty);
  at += n;
  left -= n;
  out[at++] = 0;
  n = putBytes(out, at, end - 1, ctr, left, true);
  if (n < 0) throw ctxError(n, what, 'containerId', ctr);
  at += n;
  left -= n;
  out[at++] = 0;
  n = putBytes(out, at, end, cg, left, true);
  if (n < 0) throw ctxError(n, what, 'cgroup', cg);
  at += n;
  // all three empty: an empty field, not "\0\0"
  return at - pos === 2 ? 0 : at - pos;
}

function ctxError(code: number, what: string, part: string, v: unknown): Error {
  if (code === OVER_BOUND) {
    return new RangeError(`${what}.ctx (tty, containerId and cgroup) is over its bound of ${MAX_CTX_BYTES} bytes (at ${part})`);
  }
  return bytesError(code, `${what}.${part}`, MAX_CTX_BYTES, v);
}

function byteLength(v: ByteString, what: string, field: string): number {
  if (typeof v === 'string') return utf8Length(v);
  if (v instanceof Uint8Array) return v.length;
  throw bytesError(WRONG_TYPE, `${what}.${field}`, 0, v);
}

function boundedLength(v: ByteString, max: number, what: string, field: string): number {
  const n = byteLength(v, what, field);
  if (n > max) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes`);
  return n;
}

function listLength(items: readonly ByteString[], max: number, what: string, field: string): number {
  if (!Array.isArray(items)) throw new TypeError(`${what}.${field} must be an array, got ${describe(items)}`);
  let n = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    n += (typeof item === 'string' ? utf8Length(item) : item instanceof Uint8Array ? item.length : byteLength(item, what, `${field}[${i}]`)) + 1;
  }
  if (n > max) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes`);
  return n;
}

/** Size in bytes encodeEvent will write for `ev`; throws the same bound errors. */
export function encodedSize(ev: RecordEvent): number {
  switch (ev.type) {
    case 'fork':
    case 'exec': {
      const what = ev.type;
      let n = FORK_VAR;
      if (ev.path !== undefined) n += boundedLength(ev.path, MAX_PATH_BYTES, what, 'path');
      if (ev.comm !== undefined) n += boundedLength(ev.comm, MAX_COMM_BYTES, what, 'comm');
      if (ev.argv !== undefined) n += listLength(ev.argv, MAX_ARGV_BYTES, what, 'argv');
      if (ev.envp !== undefined) n += listLength(ev.envp, MAX_ENVP_BYTES, what, 'envp');
      if (ev.tty !== undefined || ev.containerId !== undefined || ev.cgroup !== undefined) {
        const c =
          (ev.tty === undefined ? 0 : byteLength(ev.tty, what, 'tty')) +
          (ev.containerId === undefined ? 0 : byteLength(ev.containerId, what, 'containerId')) +
          (ev.cgroup === undefined ? 0 : byteLength(ev.cgroup, what, 'cgroup'));
        if (c + 2 > MAX_CTX_BYTES) throw new RangeError(`${what}.ctx (tty, containerId and cgroup) is over its bound of ${MAX_CTX_BYTES} bytes`);
        if (c > 0) n += c + 2;
      }
      if (ev.interpreter !== undefined) n += boundedLength(ev.interpreter, MAX_INTERP_BYTES, what, 'interpreter');
      return align8(n);
    }
    case 'exit':
      return EXIT_SIZE;
    case 'creds':
      return CREDS_SIZE;
    case 'rename':
      return align8(RENAME_VAR + boundedLength(ev.comm, MAX_COMM_BYTES, 'rename', 'comm'));
    case 'lost':
      return LOST_SIZE;
    case 'flush':
      return FLUSH_SIZE;
    case 'delete':
      return DELETE_SIZE;
    case 'reparent':
      return REPARENT_SIZE;
    case 'link':
      return LINK_SIZE;
    case 'unlink':
      return UNLINK_SIZE;
    case 'clock':
      return CLOCK_SIZE;
    default:
      throw new TypeError(`encodedSize: unknown event type ${describe((ev as { type?: unknown }).type)}`);
  }
}

// ---------------------------------------------------------------------------
// Small encoders for the router and workers: explicit parameters, a DataView
// the caller keeps per ring, no allocation. Sequence numbers are numbers
// (exact below 2^53) so that counting them allocates nothing; cpuSeq is 0
// (these records do not come from a CPU ring). They do not check ranges.

/**
 * LINK into the parent's shard. `time`/`forkTime` are bigints the caller
 * already holds; see encodeLinkFromFork to build one from a FORK record
 * without any bigint.
 */
export function encodeLink(
  dv: DataView, off: number, ppid: number, inode: number, forkTime: bigint,
  time: bigint, cpu: number, pidns: number, gseq: number,
): number {
  smallHeader(dv, off, REC_LINK, LINK_SIZE, cpu, pidns, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  dv.setUint32(off + LINK_PPID, ppid, true);
  dv.setUint32(off + LINK_RESERVED, 0, true);
  setU64(dv, off + LINK_INODE, inode);
  dv.setBigUint64(off + LINK_FORK_TIME, forkTime, true);
  return LINK_SIZE;
}

/**
 * LINK for the FORK record at `src[forkOff]`: ppid and inode of the fork,
 * forkTime = time = the fork's time, cpu, pidns and gseq of the fork.
 * Copies words; no bigint.
 */
export function encodeLinkFromFork(dv: DataView, off: number, src: DataView, forkOff: number): number {
  const tLo = src.getUint32(forkOff + H_TIME, true);
  const tHi = src.getUint32(forkOff + H_TIME + 4, true);
  dv.setUint16(off + H_TYPE, REC_LINK, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, LINK_SIZE, true);
  dv.setUint32(off + H_CPU, src.getUint32(forkOff + H_CPU, true), true);
  dv.setUint32(off + H_PIDNS, src.getUint32(forkOff + H_PIDNS, true), true);
  dv.setUint32(off + H_TIME, tLo, true);
  dv.setUint32(off + H_TIME + 4, tHi, true);
  dv.setUint32(off + H_CPU_SEQ, 0, true);
  dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
  dv.setUint32(off + H_GSEQ, src.getUint32(forkOff + H_GSEQ, true), true);
  dv.setUint32(off + H_GSEQ + 4, src.getUint32(forkOff + H_GSEQ + 4, true), true);
  dv.setUint32(off + LINK_PPID, src.getUint32(forkOff + FORK_PPID, true), true);
  dv.setUint32(off + LINK_RESERVED, 0, true);
  dv.setUint32(off + LINK_INODE, src.getUint32(forkOff + FORK_INODE, true), true);
  dv.setUint32(off + LINK_INODE + 4, src.getUint32(forkOff + FORK_INODE + 4, true), true);
  dv.setUint32(off + LINK_FORK_TIME, tLo, true);
  dv.setUint32(off + LINK_FORK_TIME + 4, tHi, true);
  return LINK_SIZE;
}

export function encodeUnlink(
  dv: DataView, off: number, ppid: number, forkTime: bigint, time: bigint, cpu: number, pidns: number, gseq: number,
): number {
  smallHeader(dv, off, REC_UNLINK, UNLINK_SIZE, cpu, pidns, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  dv.setUint32(off + UNLINK_PPID, ppid, true);
  dv.setUint32(off + UNLINK_RESERVED, 0, true);
  dv.setBigUint64(off + UNLINK_FORK_TIME, forkTime, true);
  return UNLINK_SIZE;
}

/** FLUSH: dequeueExited(time) in every shard. */
export function encodeFlush(dv: DataView, off: number, time: bigint, gseq: number): number {
  smallHeader(dv, off, REC_FLUSH, FLUSH_SIZE, 0, 0, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  return FLUSH_SIZE;
}

/** FLUSH with the time given as a number of ns (exact below 2^53, i.e. ~104 days of uptime); no bigint. */
export function encodeFlushAt(dv: DataView, off: number, timeNs: number, gseq: number): number {
  smallHeader(dv, off, REC_FLUSH, FLUSH_SIZE, 0, 0, gseq);
  setU64(dv, off + H_TIME, timeNs);
  return FLUSH_SIZE;
}

/** PAD of `size` bytes (a multiple of 8, >= PAD_MIN_SIZE): only type, flags and size are written. */
export function encodePad(dv: DataView, off: number, size: number): number {
  dv.setUint16(off + H_TYPE, REC_PAD, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, size, true);
  return size;
}

function smallHeader(dv: DataView, off: number, type: number, size: number, cpu: number, pidns: number, gseq: number): void {
  dv.setUint16(off + H_TYPE, type, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, size, true);
  dv.setUint32(off + H_CPU, cpu, true);
  dv.setUint32(off + H_PIDNS, pidns, true);
  dv.setUint32(off + H_CPU_SEQ, 0, true);
  dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
  setU64(dv, off + H_GSEQ, gseq);
}

// ---------------------------------------------------------------------------
// Validation (the gate) and decoding

/** The header of the record at `off` (slow path: allocates the result). */
export function readHeader(view: DataView | Uint8Array, off: number): RecordHeader {
  const dv = view instanceof DataView ? view : viewForDecode(view);
  return {
    type: dv.getUint16(off + H_TYPE, true),
    flags: dv.getUint16(off + H_FLAGS, true),
    size: dv.getUint32(off + H_SIZE, true),
    cpu: dv.getUint32(off + H_CPU, true),
    pidns: dv.getUint32(off + H_PIDNS, true),
    time: dv.getBigUint64(off + H_TIME, true),
    cpuSeq: dv.getBigUint64(off + H_CPU_SEQ, true),
    gseq: dv.getBigUint64(off + H_GSEQ, true),
  };
}

/**
 * Checks the record at `bytes[off]`, of which `available` bytes are readable.
 * Returns undefined when it is well-formed, else what is wrong. A record it
 * accepts decodes without error, and every length in it is within bounds and
 * within the record. Allocates only to describe an error.
 */
export function validateRecord(bytes: Uint8Array, off: number, available: number): string | undefined {
  if (available < PAD_MIN_SIZE) return `truncated: ${available} bytes available, a record needs at least ${PAD_MIN_SIZE}`;
  const dv = viewForDecode(bytes);
  const type = dv.getUint16(off + H_TYPE, true);
  const size = dv.getUint32(off + H_SIZE, true);
  if ((size & 7) !== 0) return `size ${size} is not a multiple of 8`;
  if (type >= REC_TYPE_COUNT) return `unknown record type ${type}`;
  if (size > MAX_RECORD_SIZE) return `size ${size} is over MAX_RECORD_SIZE (${MAX_RECORD_SIZE})`;
  if (size > available) return `truncated: size ${size} but only ${available} bytes available`;
  if (type === REC_PAD) return size < PAD_MIN_SIZE ? `PAD size ${size} is below ${PAD_MIN_SIZE}` : undefined;
  if (size < HEADER_SIZE) return `size ${size} is below the ${HEADER_SIZE}-byte header`;
  const flags = dv.getUint16(off + H_FLAGS, true);
  if ((flags & ~FLAG_MASK[type]!) !== 0) return `${TYPE_NAME[type]} flags 0x${flags.toString(16)} has unknown bits`;
  const min = MIN_SIZE[type]!;
  if (size < min) return `${TYPE_NAME[type]} size ${size} is below its fixed part (${min})`;
  if (!HAS_VARS[type]) {
    if (size !== min) return `${TYPE_NAME[type]} size ${size} is not ${min}`;
    if (type === REC_CREDS) {
      const mask = dv.getUint32(off + CREDS_CREDS_MASK, true);
      if ((mask & ~CRED_MASK_ALL) !== 0) return `CREDS credsMask 0x${mask.toString(16)} has unknown bits`;
    }
    return undefined;
  }
  if (type === REC_RENAME) {
    const n = dv.getUint16(off + RENAME_LENS, true);
    if (n > MAX_COMM_BYTES) return `RENAME comm length ${n} is over ${MAX_COMM_BYTES}`;
    if (align8(RENAME_VAR + n) !== size) return `RENAME comm length ${n} disagrees with size ${size}`;
    return undefined;
  }
  // FORK, EXEC
  const mask = dv.getUint16(off + FORK_CREDS_MASK, true);
  if ((mask & ~CRED_MASK_ALL) !== 0) return `${TYPE_NAME[type]} credsMask 0x${mask.toString(16)} has unknown bits`;
  const given = dv.getUint16(off + FORK_GIVEN, true);
  if ((given & ~GIVEN_ALL) !== 0) return `${TYPE_NAME[type]} given 0x${given.toString(16)} has unknown bits`;
  if ((given & GIVEN_CTX) !== 0 && (given & (7 << GIVEN_CTX_PARTS_SHIFT)) !== 0) {
    return `${TYPE_NAME[type]} given has both CTX and CTX parts`;
  }
  let at = off + FORK_VAR;
  for (let i = 0; i < VAR_COUNT; i++) {
    const n = dv.getUint16(off + FORK_LENS + 2 * i, true);
    if (n === 0) continue;
    if (n > VAR_MAX[i]!) return `${TYPE_NAME[type]} ${VAR_NAME[i]} length ${n} is over ${VAR_MAX[i]}`;
    const bit = i === VAR_CTX ? GIVEN_CTX | (7 << GIVEN_CTX_PARTS_SHIFT) : 1 << i;
    if ((given & bit) === 0) return `${TYPE_NAME[type]} ${VAR_NAME[i]} has length ${n} but is not given`;
    if (at + n > off + size) return `${TYPE_NAME[type]} ${VAR_NAME[i]} length ${n} runs past the record's size ${size}`;
    if ((i === VAR_ARGV || i === VAR_ENVP) && bytes[at + n - 1] !== 0) return `${TYPE_NAME[type]} ${VAR_NAME[i]} does not end with a NUL`;
    if (i === VAR_CTX) {
      let nuls = 0;
      for (let p = at; p < at + n; p++) if (bytes[p] === 0) nuls++;
      if (nuls !== 2) return `${TYPE_NAME[type]} ctx has ${nuls} NUL separators, not 2`;
    }
    at += n;
  }
  if (align8(at - off) !== size) return `${TYPE_NAME[type]} variable lengths (end ${at - off}) disagree with size ${size}`;
  return undefined;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes `[from, to)` as a string when they are UTF-8, else as a copy. */
function byteString(bytes: Uint8Array, from: number, to: number): ByteString {
  const copy = bytes.slice(from, to); // not a view: TextDecoder refuses shared memory, callers may keep it
  try {
    return utf8Strict.decode(copy);
  } catch {
    return copy;
  }
}

function splitList(bytes: Uint8Array, from: number, to: number): ByteString[] {
  const items: ByteString[] = [];
  let start = from;
  for (let p = from; p < to; p++) {
    if (bytes[p] === 0) {
      items.push(byteString(bytes, start, p));
      start = p + 1;
    }
  }
  return items;
}

// Credential fields that are one u32 word, in CRED_FIELDS order (field f is word f, bit 1 << f).
const WORD_FIELDS = CRED_FIELDS.slice(0, 7) as readonly (keyof Credentials)[];

function readCreds(dv: DataView, pos: number, mask: number): Partial<Credentials> {
  const c: Partial<Credentials> = {};
  for (let f = 0; f < 7; f++) if ((mask & (1 << f)) !== 0) (c as Record<string, number>)[WORD_FIELDS[f]!] = dv.getUint32(pos + 4 * f, true);
  if ((mask & CRED_CAP_EFFECTIVE) !== 0) c.capEffective = dv.getBigUint64(pos + 4 * CRED_WORD_CAP_EFFECTIVE, true);
  if ((mask & CRED_CAP_PERMITTED) !== 0) c.capPermitted = dv.getBigUint64(pos + 4 * CRED_WORD_CAP_PERMITTED, true);
  return c;
}

/**
 * Decodes the record at `bytes[off]` (slow path, for tools and tests).
 * Throws a RecordError (code ERR_FORKLINE_RECORD) when validateRecord
 * rejects it, and nothing else. Strings are decoded as UTF-8 when valid, else
 * kept as Uint8Array copies; u64 inodes become numbers (exact below 2^53).
 */
export function decodeEvent(bytes: Uint8Array, off: number): DecodedRecord {
  const problem = validateRecord(bytes, off, bytes.length - off);
  if (problem !== undefined) throw new RecordError(problem, off);
  const dv = viewForDecode(bytes);
  const type = dv.getUint16(off + H_TYPE, true);
  if (type === REC_PAD) return { type: 'pad', size: dv.getUint32(off + H_SIZE, true) };
  const flags = dv.getUint16(off + H_FLAGS, true);
  const cpu = dv.getUint32(off + H_CPU, true);
  const pidns = dv.getUint32(off + H_PIDNS, true);
  const time = dv.getBigUint64(off + H_TIME, true);
  switch (type) {
    case REC_FORK:
    case REC_EXEC:
      return decodeImage(bytes, dv, off, type, flags, cpu, pidns, time);
    case REC_EXIT:
      return { type: 'exit', time, cpu, pid: dv.getUint32(off + EXIT_PID, true), pidns, exitCode: dv.getUint32(off + EXIT_EXIT_CODE, true) };
    case REC_CREDS:
      return {
        type: 'creds', time, cpu, pid: dv.getUint32(off + CREDS_PID, true), pidns,
        credentials: readCreds(dv, off + CREDS_CREDS, dv.getUint32(off + CREDS_CREDS_MASK, true)),
      };
    case REC_RENAME: {
      const n = dv.getUint16(off + RENAME_LENS, true);
      return { type: 'rename', time, cpu, pid: dv.getUint32(off + RENAME_PID, true), pidns, comm: byteString(bytes, off + RENAME_VAR, off + RENAME_VAR + n) };
    }
    case REC_LOST:
      return { type: 'lost', time, cpu, count: dv.getUint32(off + LOST_COUNT, true) };
    case REC_FLUSH:
      return { type: 'flush', time, cpu };
    case REC_DELETE:
      return { type: 'delete', time, cpu, pid: dv.getUint32(off + DELETE_PID, true), pidns };
    case REC_REPARENT:
      return { type: 'reparent', time, cpu, pid: dv.getUint32(off + REPARENT_PID, true), pidns, ppid: dv.getUint32(off + REPARENT_PPID, true) };
    case REC_LINK:
      return {
        type: 'link', time, cpu, pidns, ppid: dv.getUint32(off + LINK_PPID, true),
        inode: getU64(dv, off + LINK_INODE), forkTime: dv.getBigUint64(off + LINK_FORK_TIME, true),
      };
    case REC_UNLINK:
      return { type: 'unlink', time, cpu, pidns, ppid: dv.getUint32(off + UNLINK_PPID, true), forkTime: dv.getBigUint64(off + UNLINK_FORK_TIME, true) };
    case REC_CLOCK:
      return { type: 'clock', time, cpu, wallTime: dv.getBigUint64(off + CLOCK_WALL_TIME, true) };
    default:
      // validateRecord rejects unknown types; this keeps the switch total
      throw new RecordError(`unknown record type ${type}`, off);
  }
}

function decodeImage(
  bytes: Uint8Array, dv: DataView, off: number, type: number, flags: number, cpu: number, pidns: number, time: bigint,
): ForkEvent | ExecEvent {
  const pid = dv.getUint32(off + FORK_PID, true);
  const inode = getU64(dv, off + FORK_INODE);
  const ev = (
    type === REC_FORK
      ? {
          type: 'fork', time, cpu, pid, ppid: dv.getUint32(off + FORK_PPID, true), pidns,
          execTime: dv.getBigUint64(off + FORK_EXEC_TIME, true), inode,
          kernelThread: (flags & FLAG_KERNEL_THREAD) !== 0,
        }
      : {
          type: 'exec', time, cpu, pid, ppid: dv.getInt32(off + EXEC_PPID, true), pidns,
          prevInode: getU64(dv, off + EXEC_PREV_INODE), inode,
        }
  ) as ForkEvent | ExecEvent;
  if ((flags & FLAG_SNAPSHOT) !== 0) (ev as ForkEvent).snapshot = true;
  ev.argsTruncated = (flags & FLAG_ARGS_TRUNCATED) !== 0;
  ev.envsTruncated = (flags & FLAG_ENVS_TRUNCATED) !== 0;
  ev.pathTruncated = (flags & FLAG_PATH_TRUNCATED) !== 0;
  ev.mountId = dv.getUint32(off + FORK_MOUNT_ID, true);
  ev.nsPid = dv.getUint32(off + FORK_NS_PID, true);
  ev.pidnsInode = dv.getUint32(off + FORK_PIDNS_INODE, true);
  ev.cgroupId = dv.getBigUint64(off + FORK_CGROUP_ID, true);
  const mask = dv.getUint16(off + FORK_CREDS_MASK, true);
  if (mask !== 0) ev.credentials = readCreds(dv, off + FORK_CREDS, mask);
  const given = dv.getUint16(off + FORK_GIVEN, true);
  let at = off + FORK_VAR;
  const len = (i: number) => dv.getUint16(off + FORK_LENS + 2 * i, true);
  let n = len(VAR_PATH);
  if ((given & GIVEN_PATH) !== 0) ev.path = byteString(bytes, at, at + n);
  at += n;
  n = len(VAR_COMM);
  if ((given & GIVEN_COMM) !== 0) ev.comm = byteString(bytes, at, at + n);
  at += n;
  n = len(VAR_ARGV);
  if ((given & GIVEN_ARGV) !== 0) ev.argv = splitList(bytes, at, at + n);
  at += n;
  n = len(VAR_ENVP);
  if ((given & GIVEN_ENVP) !== 0) ev.envp = splitList(bytes, at, at + n);
  at += n;
  n = len(VAR_CTX);
  const ctxMask = ctxMaskOfGiven(given);
  if (ctxMask !== 0) {
    const parts = ['', '', ''];
    if (n > 0) {
      const a = bytes.indexOf(0, at);
      const b = bytes.indexOf(0, a + 1);
      parts[0] = utf8Lossy.decode(bytes.slice(at, a));
      parts[1] = utf8Lossy.decode(bytes.slice(a + 1, b));
      parts[2] = utf8Lossy.decode(bytes.slice(b + 1, at + n));
    }
    if ((ctxMask & 1) !== 0) ev.tty = parts[0];
    if ((ctxMask & 2) !== 0) ev.containerId = parts[1];
    if ((ctxMask & 4) !== 0) ev.cgroup = parts[2];
  }
  at += n;
  n = len(VAR_INTERP);
  if ((given & GIVEN_INTERP) !== 0) ev.interpreter = byteString(bytes, at, at + n);
  return ev;
}
