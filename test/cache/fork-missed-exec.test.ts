// A fork after a missed exec (issue 13, point 4): when the inode says the
// parent's image is not the child's, none of the parent's image is
// inherited. docs/cache.md, "Fork".

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { bootInit } from './helpers.js';

function parentRunningPython(options = {}) {
  const r = new ProcessResolver({ capacity: 64, envsResolution: true, ...options });
  bootInit(r);
  r.addForkEntry({ pid: 100, ppid: 1, time: 10n });
  r.addExecEntry({
    pid: 100, time: 11n, path: '/usr/bin/python3', inode: 50, argv: ['python3', 'app.py', '--token=x'],
    envp: ['A=1'], interpreter: '/usr/bin/python3', comm: 'python3',
  });
  return r;
}

describe('fork whose inode differs from the parent\'s (an exec of the parent was missed)', () => {
  it('takes the given path and none of the parent\'s argv, envp, comm or interpreter', () => {
    const r = parentRunningPython();
    // the parent exec'd /usr/bin/curl unseen, then forked
    const child = r.addForkEntry({ pid: 200, ppid: 100, time: 20n, inode: 60, path: '/usr/bin/curl' })!;
    expect(child.path).toBe('/usr/bin/curl');
    expect(child.inode).toBe(60);
    expect(child.argv).toEqual([]);
    expect(r.getProcessEnvp(child).values).toEqual([]);
    expect(child.comm).toBe('');
    expect(child.interpreter).toBe('');
    expect(child.argsTruncated).toBe(false);
    expect(child.isParentMissing).toBe(true);
    expect(child.ancestor?.pid).toBe(100); // the link to the parent is kept
    expect(r.stats().inodeErrors.forkInodeMismatch).toBe(1);
  });

  it('takes the comm the event gives, and no path when none is given', () => {
    const r = parentRunningPython();
    const child = r.addForkEntry({ pid: 200, ppid: 100, time: 20n, inode: 60, comm: 'curl' })!;
    expect(child.comm).toBe('curl');
    expect(child.path).toBe('');
    expect(child.argv).toEqual([]);
  });

  it('still inherits everything from a parent of the same image, or one whose image is unknown (inode 0)', () => {
    const r = parentRunningPython();
    const same = r.addForkEntry({ pid: 200, ppid: 100, time: 20n, inode: 50 })!;
    expect(same.argv).toEqual(['python3', 'app.py', '--token=x']);
    expect(same.comm).toBe('python3');
    expect(same.interpreter).toBe('/usr/bin/python3');
    const unknownImage = new ProcessResolver({ capacity: 64 });
    unknownImage.addExecEntry({ pid: 100, ppid: 0, time: 1n, path: '', inode: 0, argv: ['daemon', '-d'] });
    const c = unknownImage.addForkEntry({ pid: 200, ppid: 100, time: 2n, inode: 60, path: '/usr/sbin/daemon' })!;
    expect(c.argv).toEqual(['daemon', '-d']);
    expect(c.path).toBe('/usr/sbin/daemon');
    expect(c.isParentMissing).toBe(false);
  });

  it('releases nothing of the parent: the parent keeps its image, the tables end empty', () => {
    const r = parentRunningPython();
    const start = r.stats();
    r.addForkEntry({ pid: 200, ppid: 100, time: 20n, inode: 60, path: '/usr/bin/curl' });
    expect(r.resolve(100)!.argv).toEqual(['python3', 'app.py', '--token=x']);
    r.deleteEntry(200, 30n);
    expect(r.stats().strings).toEqual(start.strings);
    expect(r.stats().rows).toBe(start.rows);
  });
});
