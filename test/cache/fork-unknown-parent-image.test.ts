// docs/cache.md, Fork, "Parent image unknown": a parent whose executable was
// never known (inode 0, e.g. an exe link /proc could not read) does not
// blank the image its children report.

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/cache/resolver.js';

describe('a fork from a parent whose image is unknown', () => {
  it('takes the event inode and path, without flagging a missing parent', () => {
    const r = new ProcessResolver({ capacity: 64 });
    r.addForkEntry({ pid: 1, ppid: 0, time: 1n }); // pid 1, exe unreadable: no path, inode 0
    r.addForkEntry({ pid: 50, ppid: 1, time: 2n, inode: 260104, path: '/usr/bin/bash' });
    r.addForkEntry({ pid: 51, ppid: 50, time: 3n, inode: 260104, path: '/usr/bin/bash' });
    const child = r.resolve(50)!;
    expect([child.path, child.inode, child.isParentMissing]).toEqual(['/usr/bin/bash', 260104, false]);
    expect(child.ancestor?.pid).toBe(1);
    expect(r.resolve(51)!.path).toBe('/usr/bin/bash'); // and it is inherited further down
    expect(r.stats().inodeErrors.forkInodeMismatch).toBe(0);
  });
});
