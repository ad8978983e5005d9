// updateProcessContexts (issue 13, point 7, resolver part): a process moved
// to another cgroup, or whose container became known, changes its current
// entry in place. docs/cache.md, "Contexts".

import { describe, expect, it } from 'vitest';
import { EbpflessResolver, ProcessResolver } from '../../src/index.js';

function withProcess() {
  const r = new ProcessResolver({ capacity: 16 });
  r.addForkEntry({
    pid: 10, ppid: 0, time: 1n, tty: 'pts/1', containerId: '', cgroup: '/user.slice', pidnsInode: 4026531836, cgroupId: 77n,
  });
  return r;
}

describe('updateProcessContexts', () => {
  it('sets container id, cgroup path and cgroup id, keeping the tty and the other namespaces', () => {
    const r = withProcess();
    const start = r.stats().strings;
    expect(r.updateProcessContexts(10, { containerId: 'abc123', cgroup: '/kubepods/pod1/abc123', cgroupId: 4242n })).toBe(true);
    const e = r.resolve(10)!;
    expect(e).toMatchObject({ tty: 'pts/1', containerId: 'abc123', cgroup: '/kubepods/pod1/abc123' });
    expect(e.namespaces).toEqual({ pidnsInode: 4026531836, nsPid: 0, mountId: 0, cgroupId: 4242n });
    // the old context and tuple were released: one context and one tuple still, of other contents
    r.updateProcessContexts(10, { containerId: '', cgroup: '/user.slice', cgroupId: 77n });
    expect(r.stats().strings.count).toBe(start.count);
  });

  it('changes only the fields given', () => {
    const r = withProcess();
    r.updateProcessContexts(10, { cgroupId: 5n });
    expect(r.resolve(10)).toMatchObject({ cgroup: '/user.slice', containerId: '', tty: 'pts/1' });
    expect(r.resolve(10)!.namespaces.cgroupId).toBe(5n);
    r.updateProcessContexts(10, { containerId: 'c1' });
    expect(r.resolve(10)).toMatchObject({ cgroup: '/user.slice', containerId: 'c1' });
    expect(r.resolve(10)!.namespaces.cgroupId).toBe(5n);
  });

  it('children forked after the move inherit the new context; the entry before an exec keeps its own', () => {
    const r = withProcess();
    r.updateProcessContexts(10, { containerId: 'c2', cgroup: '/c2', cgroupId: 9n });
    const child = r.addForkEntry({ pid: 11, ppid: 10, time: 2n })!;
    expect(child).toMatchObject({ containerId: 'c2', cgroup: '/c2' });
    expect(child.namespaces.cgroupId).toBe(9n);
  });

  it('an unknown pid: false, counted; bad input: a clear error, nothing changed', () => {
    const r = withProcess();
    expect(r.updateProcessContexts(99, { containerId: 'x' })).toBe(false);
    expect(r.stats().updateMisses).toBe(1);
    expect(() => r.updateProcessContexts(10, { cgroupId: 5 as never })).toThrow(TypeError);
    expect(() => r.updateProcessContexts(10, { cgroup: 7 as never })).toThrow(TypeError);
    expect(() => r.updateProcessContexts(10, { containerId: 'a\0b' })).toThrow(TypeError);
    expect(r.resolve(10)).toMatchObject({ containerId: '', cgroup: '/user.slice' });
  });

  it('EbpflessResolver.updateProcessContexts(key, …) likewise', () => {
    const r = new EbpflessResolver({ capacity: 16 });
    r.addForkEntry({ pid: 3, nsid: 9 }, 0, 1n);
    expect(r.updateProcessContexts({ pid: 3, nsid: 9 }, { containerId: 'k', cgroupId: 1n })).toBe(true);
    expect(r.resolve({ pid: 3, nsid: 9 })!.containerId).toBe('k');
    expect(r.resolve({ pid: 3, nsid: 9 })!.namespaces.cgroupId).toBe(1n);
  });
});

describe('updateProcessContexts keeps a namespace pid stored as the pid', () => {
  it('a process whose nsPid is its pid keeps it', () => {
    const r = new ProcessResolver({ capacity: 16 });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1n, pidnsInode: 4026531836, nsPid: 10 });
    r.updateProcessContexts(10, { cgroupId: 3n });
    expect(r.resolve(10)!.namespaces).toEqual({ pidnsInode: 4026531836, nsPid: 10, mountId: 0, cgroupId: 3n });
  });
});
