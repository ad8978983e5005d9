// uid/gid -> name at read time (entries store numbers only): from the host's
// passwd and group files (UserNames), or as a tracer inside a container gave
// them, per pid namespace (TracerNames, for EbpflessResolver). Readers cache
// the names of a credential set once per set (entry.ts), never per event.
// The files are reloaded when their mtime changes, checked at most once per
// second so a hot reader does not stat on every lookup.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

class NameFile {
  private names = new Map<number, string>();
  private mtimeMs = -1;
  private checkedAt = -Infinity;
  /** Bumped on every reload, so callers can drop names they cached. */
  version = 0;

  constructor(private readonly file: string) {}

  name(id: number): string {
    const now = Date.now();
    if (now - this.checkedAt > 1000) {
      this.checkedAt = now;
      this.reloadIfChanged();
    }
    return this.names.get(id) ?? '';
  }

  private reloadIfChanged(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      if (this.mtimeMs !== -1) this.version++;
      this.names.clear();
      this.mtimeMs = -1;
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    this.mtimeMs = mtimeMs;
    const names = new Map<number, string>();
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      // unreadable: no names rather than a failure of every lookup
    }
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      const id = Number(fields[2]);
      if (fields.length >= 3 && fields[0] && Number.isInteger(id) && !names.has(id)) names.set(id, fields[0]);
    }
    this.names = names;
    this.version++;
  }
}

/** Where the names of user and group ids come from; `version` changes whenever a name may have. */
export interface NameSource {
  user(uid: number, pidns: number): string;
  group(gid: number, pidns: number): string;
  readonly version: number;
}

export class UserNames implements NameSource {
  private readonly users: NameFile;
  private readonly groups: NameFile;

  /** `etcDir`: the host's /etc (for procRoot /host/proc, /host/etc). */
  constructor(etcDir: string) {
    this.users = new NameFile(join(etcDir, 'passwd'));
    this.groups = new NameFile(join(etcDir, 'group'));
  }

  user(uid: number): string {
    return this.users.name(uid);
  }

  group(gid: number): string {
    return this.groups.name(gid);
  }

  /** Changes whenever a name file was reloaded. */
  get version(): number {
    return this.users.version + this.groups.version;
  }
}

/**
 * Names a tracer gave for ids of one pid namespace (the seed's UpdateUser
 * and UpdateGroup): a process in a container has its own /etc/passwd, which
 * the host's does not describe. An id with no name given has none ('').
 */
export class TracerNames implements NameSource {
  private readonly users = new Map<number, Map<number, string>>();
  private readonly groups = new Map<number, Map<number, string>>();
  version = 0;

  setUser(pidns: number, uid: number, name: string): void {
    this.set(this.users, pidns, uid, name);
  }

  setGroup(pidns: number, gid: number, name: string): void {
    this.set(this.groups, pidns, gid, name);
  }

  user(uid: number, pidns: number): string {
    return this.users.get(pidns)?.get(uid) ?? '';
  }

  group(gid: number, pidns: number): string {
    return this.groups.get(pidns)?.get(gid) ?? '';
  }

  private set(byNs: Map<number, Map<number, string>>, pidns: number, id: number, name: string): void {
    let names = byNs.get(pidns);
    if (names === undefined) byNs.set(pidns, (names = new Map()));
    if (names.get(id) === name) return;
    names.set(id, name);
    this.version++;
  }
}
