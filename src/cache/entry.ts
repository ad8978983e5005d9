// Turns rows into ProcessEntry objects: immutable snapshots, ancestors
// included, so an entry stays meaningful after its rows are reclaimed.
// This is the object API; hot readers use the row columns of ProcessTable.
// Decoded strings, argv lists and credential sets are cached per
// (id, generation) and shared, frozen, between entries.

import { splitCtx } from './apply.js';
import { DecodeCache } from './decode-cache.js';
import {
  F_ARGS_TRUNCATED,
  F_ENVS_TRUNCATED,
  F_IS_EXEC,
  F_IS_EXEC_EXEC,
  F_PARENT_MISSING,
  type ProcessTable,
} from './table.js';
import type { EntryCredentials, EntrySource, ProcessEntry } from './types.js';
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
  private readonly creds: DecodeCache<Readonly<EntryCredentials>>;
  private usersVersion = -1;

  constructor(
    readonly table: ProcessTable,
    private readonly users: UserNames,
    private readonly withEnvs: boolean,
  ) {
    const s = table.strings;
    this.text = new DecodeCache(s, (id) => s.decode(id));
    this.lists = new DecodeCache(s, (id) => Object.freeze(s.decodeList(id)));
    this.ctx = new DecodeCache(s, (id) => Object.freeze(splitCtx(table, id).map((b) => utf8.decode(b))));
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
   * The entry of `row` and its ancestor chain. `memo` shares the entries of
   * rows already read (walks and dumps read every chain once).
   */
  read(row: number, memo?: Map<number, ProcessEntry>): ProcessEntry {
    const t = this.table;
    const chain: number[] = [];
    let top: ProcessEntry | undefined;
    for (let at = row; at >= 0 && chain.length <= t.capacity; at = t.ancestor[at]!) {
      const known = memo?.get(at);
      if (known) {
        top = known;
        break;
      }
      chain.push(at);
    }
    let entry = top;
    for (let i = chain.length - 1; i >= 0; i--) {
      entry = this.readOne(chain[i]!, entry);
      memo?.set(chain[i]!, entry);
    }
    return entry!;
  }

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
      ancestor,
    });
    if (this.withEnvs) envpOf.set(entry, this.lists.get(t.envpId[row]!));
    return entry;
  }
}
