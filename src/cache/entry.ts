// Turns rows into ProcessEntry objects: immutable snapshots, ancestors
// included, so an entry stays meaningful after its rows are reclaimed.
// This is the object API; hot readers use the row columns of ProcessTable.
// Decoded strings, argv lists and credential sets are cached per
// (id, generation) and shared, frozen, between entries.

import { splitCtx } from './context.js';
import { DecodeCache } from './decode-cache.js';
import { readNamespaces } from './namespaces.js';
import {
  F_ARGS_TRUNCATED,
  F_ENVS_TRUNCATED,
  F_IS_EXEC,
  F_IS_EXEC_EXEC,
  F_PARENT_MISSING,
  F_PATH_TRUNCATED,
  type ProcessTable,
} from './table.js';
import type { EntryCredentials, EntryNamespaces, EntrySource, ProcessEntry } from './types.js';
import type { UserNames } from './users.js';

const SOURCES: readonly EntrySource[] = ['event', 'snapshot', 'procfs'];
const utf8 = new TextDecoder();

/** Raw envp of entries, kept out of the entry object so it is not printed by accident. */
const envpOf = new WeakMap<ProcessEntry, readonly string[]>();

export function entryEnvp(entry: ProcessEntry): readonly string[] {
  return envpOf.get(entry) ?? [];
}

export class EntryDecoder {
  private readonly text: DecodeCache<string>;
  private readonly lists: DecodeCache<readonly string[]>;
  private readonly ctx: DecodeCache<readonly string[]>;
  private readonly namespaces: DecodeCache<Readonly<EntryNamespaces>>;
  private readonly creds: DecodeCache<Readonly<EntryCredentials>>;
  private usersVersion = -1;

  constructor(
    readonly table: ProcessTable,
    private readonly users: UserNames,
    private readonly withEnvs: boolean,
  ) {
    const s = table.strings;
    this.cachedSeq = new Int32Array(table.capacity).fill(-1);
    this.text = new DecodeCache(s, (id) => s.decode(id));
    this.lists = new DecodeCache(s, (id) => Object.freeze(s.decodeList(id)));
    this.ctx = new DecodeCache(s, (id) => Object.freeze(splitCtx(table, id).map((b) => utf8.decode(b))));
    this.namespaces = new DecodeCache(s, (id) => readNamespaces(s, id));
    this.creds = new DecodeCache(table.creds.strings, (id) => {
      const c = table.creds.read(id);
      return Object.freeze({ ...c, user: users.user(c.uid), group: users.group(c.gid) });
    });
  }

  private checkUsers(): void {
    if (this.users.version !== this.usersVersion) {
      this.usersVersion = this.users.version;
      this.creds.clear();
    }
  }

  /**
   * The entry of `row` and its ancestor chain, for the thread that writes
   * the table. Ancestor entries are kept per row and reused while the row
   * and its whole chain are unchanged (same seq, same fork and exec times):
   * an add or a resolve then materialises the rows that changed and the one
   * asked for, not the whole chain again.
   */
  read(row: number): ProcessEntry {
    const t = this.table;
    const chain = this.chain;
    chain.length = 0;
    for (let at = row; at >= 0 && chain.length <= t.capacity; at = t.ancestor[at]!) chain.push(at);
    // the highest row from which every cached entry up the chain is still right
    let keep = chain.length;
    for (let i = chain.length - 1; i >= 0; i--) {
      const r = chain[i]!;
      const cached = this.cached[r];
      const up = i + 1 < chain.length ? this.cached[chain[i + 1]!] : undefined;
      if (
        cached === undefined ||
        this.cachedSeq[r] !== t.seq[r] ||
        cached.forkTime !== t.forkTime[r] ||
        cached.execTime !== t.execTime[r] ||
        cached.ancestor !== up
      ) {
        break;
      }
      keep = i;
    }
    let entry = keep < chain.length ? this.cached[chain[keep]!] : undefined;
    for (let i = keep - 1; i >= 0; i--) {
      const r = chain[i]!;
      entry = this.readOne(r, entry);
      // ancestors are kept (they are shared by many chains); the entry asked
      // for is not, so memory grows with the ancestors, not with every process
      if (i > 0) {
        this.cached[r] = entry;
        this.cachedSeq[r] = t.seq[r]!;
      }
    }
    return entry!;
  }

  /** Ancestor entries kept per row for read(), with the row's seq when they were made. */
  private readonly cached: (ProcessEntry | undefined)[] = [];
  private readonly cachedSeq: Int32Array;
  private readonly chain: number[] = [];

  /**
   * One entry from one row, linked to `ancestor`. `parentMissing` overrides
   * the stored flag (readers of a sharded pipeline derive it for rows whose
   * parent lives in another shard).
   */
  readOne(row: number, ancestor: ProcessEntry | undefined, parentMissing?: boolean): ProcessEntry {
    this.checkUsers();
    const t = this.table;
    const flags = t.flags[row]!;
    const path = this.text.get(t.pathId[row]!);
    const ctx = this.ctx.get(t.ctxId[row]!);
    const entry: ProcessEntry = Object.freeze({
      pid: t.pid[row]!,
      ppid: t.ppid[row]!,
      forkTime: t.forkTime[row]!,
      execTime: t.execTime[row]!,
      exitTime: t.exitTime[row]!,
      exitCode: t.exitCode[row]!,
      path,
      pathTruncated: (flags & F_PATH_TRUNCATED) !== 0,
      basename: path.slice(path.lastIndexOf('/') + 1),
      inode: t.inode[row]!,
      comm: this.text.get(t.commId[row]!),
      argv: this.lists.get(t.argvId[row]!),
      argsTruncated: (flags & F_ARGS_TRUNCATED) !== 0,
      envsTruncated: (flags & F_ENVS_TRUNCATED) !== 0,
      credentials: this.creds.get(t.credsId[row]!),
      tty: ctx[0]!,
      containerId: ctx[1]!,
      cgroup: ctx[2]!,
      interpreter: this.text.get(t.interpId[row]!),
      isExec: (flags & F_IS_EXEC) !== 0,
      isExecExec: (flags & F_IS_EXEC_EXEC) !== 0,
      isParentMissing: parentMissing ?? (flags & F_PARENT_MISSING) !== 0,
      source: SOURCES[t.sourceOf(row)] ?? 'event',
      pidns: t.pidnsOf(row),
      namespaces: this.namespaces.get(t.nsId[row]!),
      ancestor,
    });
    if (this.withEnvs) envpOf.set(entry, this.lists.get(t.envpId[row]!));
    return entry;
  }
}
