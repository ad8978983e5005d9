// A fork of a process that runs a script: the kernel's exe_file names the
// interpreter, the parent's entry names the script. The child runs the same
// image (same inode) and keeps the script's path (src/cache/record-applier.ts).

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/cache/resolver.js';
import type { ExecEvent, ForkEvent } from '../../src/record/events.js';

const DASH_INODE = 260180;

function exec(pid: number, path: string, inode: number, interpreter?: string): ExecEvent {
  return {
    type: 'exec', time: BigInt(pid) * 1000n, cpu: 0, pid, ppid: 1, pidns: 0, inode, prevInode: 0, path,
    argv: ['/bin/sh', path], interpreter, credentials: { uid: 0 }, tty: '', containerId: '', cgroup: '',
  };
}

function fork(pid: number, ppid: number, path: string, inode: number): ForkEvent {
  return {
    type: 'fork', time: BigInt(pid) * 1000n, cpu: 0, pid, ppid, pidns: 0, execTime: 0n, inode, path,
    argv: ['/bin/sh', '/opt/job.sh'], credentials: { uid: 0 }, tty: '', containerId: '', cgroup: '',
  };
}

describe('a fork of a script process', () => {
  it('keeps the script path and interpreter when the kernel names the interpreter for the same image', () => {
    const r = new ProcessResolver({ capacity: 64 });
    r.applyEvent(exec(100, '/opt/job.sh', DASH_INODE, '/usr/bin/dash'));
    r.applyEvent(fork(101, 100, '/usr/bin/dash', DASH_INODE));
    const child = r.resolve(101)!;
    expect([child.path, child.interpreter, child.isExec]).toEqual(['/opt/job.sh', '/usr/bin/dash', false]);
  });

  it('takes the kernel path when the parent is not a script, or the image differs', () => {
    const r = new ProcessResolver({ capacity: 64 });
    r.applyEvent(exec(200, '/usr/bin/dash', DASH_INODE));
    r.applyEvent(fork(201, 200, '/usr/bin/dash', DASH_INODE));
    expect(r.resolve(201)!.path).toBe('/usr/bin/dash');
    r.applyEvent(exec(300, '/opt/job.sh', DASH_INODE, '/usr/bin/dash'));
    r.applyEvent(fork(301, 300, '/usr/bin/python3.11', 999)); // another image: the record is right
    expect(r.resolve(301)!.path).toBe('/usr/bin/python3.11');
  });
});
