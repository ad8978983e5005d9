// Names for every credential id (issue 13, point 6): euser, egroup, fsuser,
// fsgroup next to user and group, computed once per credential set; the
// EbpflessResolver keeps the names its tracer gives, per pid namespace.
// docs/cache.md, "Credentials".

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EbpflessResolver, ProcessResolver } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'forkline-names-'));
mkdirSync(join(root, 'proc'));
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n');
writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\nwheel:x:10:\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ProcessResolver: a name for every id', () => {
  it('names uid, euid, fsuid, gid, egid and fsgid from the host\'s /etc', () => {
    const r = new ProcessResolver({ capacity: 64, procRoot: join(root, 'proc') });
    const e = r.addForkEntry({
      pid: 10, ppid: 0, time: 1n, credentials: { uid: 1000, euid: 0, fsuid: 1001, gid: 50, egid: 10, fsgid: 0 },
    })!;
    expect(e.credentials).toMatchObject({
      user: 'alice', euser: 'root', fsuser: 'bob', group: 'staff', egroup: 'wheel', fsgroup: 'root',
    });
    r.updateUid(10, { euid: 1000 });
    expect(r.resolve(10)!.credentials.euser).toBe('alice');
    r.updateGid(10, { fsgid: 4242 });
    expect(r.resolve(10)!.credentials.fsgroup).toBe(''); // no name
  });

  it('entries with the same credential set share one named object (names are made once per set)', () => {
    const r = new ProcessResolver({ capacity: 64, procRoot: join(root, 'proc') });
    const creds = { uid: 1000, euid: 1000, fsuid: 1000, gid: 50, egid: 50, fsgid: 50 };
    r.addForkEntry({ pid: 10, ppid: 0, time: 1n, credentials: creds });
    const a = r.addForkEntry({ pid: 11, ppid: 10, time: 2n })!;
    const b = r.addForkEntry({ pid: 12, ppid: 10, time: 3n })!;
    expect(a.credentials).toBe(b.credentials);
    expect(Object.isFrozen(a.credentials)).toBe(true);
  });
});

describe('EbpflessResolver: names as the tracer gives them', () => {
  const ns = 4026532000;
  const other = 4026532001;

  it('keeps user and euser given with updateUser, per pid namespace, not the host\'s /etc', () => {
    const r = new EbpflessResolver({ capacity: 64, procRoot: join(root, 'proc') });
    r.addExecEntry({ pid: 5, nsid: ns }, { ppid: 0, time: 1n, path: '/bin/app' });
    r.addExecEntry({ pid: 5, nsid: other }, { ppid: 0, time: 1n, path: '/bin/app' });
    expect(r.updateUser({ pid: 5, nsid: ns }, { uid: 1000, euid: 0, user: 'app', euser: 'root' })).toBe(true);
    expect(r.updateGroup({ pid: 5, nsid: ns }, { gid: 1000, egid: 1000, group: 'app', egroup: 'app' })).toBe(true);
    const c = r.resolve({ pid: 5, nsid: ns })!.credentials;
    expect(c).toMatchObject({ uid: 1000, euid: 0, user: 'app', euser: 'root', group: 'app', egroup: 'app' });
    // uid 1000 is alice on the host, but a container's ids are not the host's: no name where none was given
    r.updateUser({ pid: 5, nsid: other }, { uid: 1000 });
    expect(r.resolve({ pid: 5, nsid: other })!.credentials.user).toBe('');
    // a name given once holds for that id in that namespace, for every process there
    r.addExecEntry({ pid: 6, nsid: ns }, { ppid: 5, time: 2n, path: '/bin/sh' });
    r.updateUser({ pid: 6, nsid: ns }, { uid: 1000 });
    expect(r.resolve({ pid: 6, nsid: ns })!.credentials.user).toBe('app');
  });

  it('a name that is not a string is a TypeError and changes nothing', () => {
    const r = new EbpflessResolver({ capacity: 64 });
    r.addExecEntry({ pid: 5, nsid: ns }, { ppid: 0, time: 1n, path: '/bin/app' });
    expect(() => r.updateUser({ pid: 5, nsid: ns }, { uid: 7, user: 7 as never })).toThrow(TypeError);
    expect(r.resolve({ pid: 5, nsid: ns })!.credentials.uid).not.toBe(7);
  });

  it('an unknown key changes no name', () => {
    const r = new EbpflessResolver({ capacity: 64 });
    expect(r.updateUser({ pid: 9, nsid: ns }, { uid: 1, user: 'x' })).toBe(false);
    r.addExecEntry({ pid: 9, nsid: ns }, { ppid: 0, time: 1n, path: '/bin/app' });
    r.updateUser({ pid: 9, nsid: ns }, { uid: 1 });
    expect(r.resolve({ pid: 9, nsid: ns })!.credentials.user).toBe('');
  });
});
