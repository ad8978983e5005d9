// uid/gid -> name, read from the host's passwd and group files at read time
// (entries store numbers only). Reloaded when a file's mtime changes, checked
// at most once per second so a hot reader does not stat on every lookup.

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

export class UserNames {
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
