// The known process tree of the live tests: shell pipelines, a script run
// through its interpreter, a process that execs twice, a setuid change, an
// exit status, an orphan reparented to a subreaper and a child in a new pid
// namespace. Every process writes "label host-pid" to a file, so the test
// knows the ground truth without asking the agent.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { ProcessEntry } from '../../src/cache/types.js';
import type { CaptureKind } from '../../src/pipeline/sources/capture.js';
import { startLive, type Live } from './harness.js';
import {
  chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, realpathSync, rmdirSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TREE_SH = `#!/bin/sh
# each process appends "label pid" to $1
out="$1"
here="$(dirname "$0")"
echo "script $$" >> "$out"
/bin/sh -c 'echo "pipe-left $$" >> "$1"; exec /bin/echo piped-arg' pipe-left "$out" | /bin/sh -c 'echo "pipe-right $$" >> "$1"; exec /bin/cat' pipe-right "$out" > /dev/null
/bin/sh -c 'echo "twice $$" >> "$1"; exec /usr/bin/env /bin/sleep 0.3' twice "$out"
/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups /bin/sh -c 'echo "setuid $$" >> "$1"; exec /bin/sleep 0.3' setuid "$out"
/bin/sh -c 'echo "exit3 $$" >> "$1"; sleep 0.3; exit 3' exit3 "$out"
/usr/bin/python3 "$here/subreaper.py" "$out"
/usr/bin/unshare --fork --pid /usr/bin/python3 "$here/nschild.py" "$out"
exit 0
`;

const SUBREAPER_PY = `import ctypes, os, sys
out = sys.argv[1]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
with open(out, "a") as f:
    f.write("subreaper %d\\n" % os.getpid())
# the middle shell exits at once; its background child, the orphan, is reparented to us
os.system('/bin/sh -c \\'echo "orphan-parent $$" >> "$1"; /bin/sleep 0.3 & echo "orphan $!" >> "$1"\\' x "%s"' % out)
try:
    while True:
        os.wait()
except ChildProcessError:
    pass
`;

const NSCHILD_PY = `import os, sys
out = sys.argv[1]
host_pid = int(open("/proc/self/stat").read().split()[0])  # /proc is the host's: host pid
ns = os.readlink("/proc/self/ns/pid")  # "pid:[N]": the new namespace
move_to = os.environ.get("FORKLINE_NS_CGROUP")
if move_to:  # into a cgroup of its own before the exec: the EXEC reports it, the FORK did not
    with open(move_to + "/cgroup.procs", "w") as f:
        f.write("0")
cgroup = [l[3:] for l in open("/proc/self/cgroup").read().splitlines() if l.startswith("0::")]
with open(out, "a") as f:
    f.write("nschild %d %d %s %s\\n" % (host_pid, os.getpid(), ns, cgroup[0] if cgroup else "-"))
os.execv("/bin/sleep", ["/bin/sleep", "0.3"])
`;

export interface KnownTree {
  dir: string;
  script: string;
  out: string;
  /** label -> host pid */
  pids: Record<string, number>;
  /** pid of the nschild as seen in its own namespace */
  nsPid: number;
  /** inode of the nschild's pid namespace (its /proc/self/ns/pid) */
  nsInode: number;
  /** the nschild's cgroup v2 path ("0::" line of its /proc/self/cgroup), undefined without one */
  nsCgroup: string | undefined;
  exitCode: number | null;
}

export const LABELS = ['script', 'pipe-left', 'pipe-right', 'twice', 'setuid', 'exit3', 'subreaper', 'orphan-parent', 'orphan', 'nschild'] as const;

/** Where a command really is (/bin is a link to /usr/bin on merged-/usr systems): what the kernel reports. */
export function real(path: string): string {
  return realpathSync(path);
}

/**
 * Runs the tree. `nsCgroupDir`: a cgroup v2 directory the nschild moves
 * itself into before it execs /bin/sleep (its fork and first exec stay in
 * this process's cgroup).
 */
export async function runKnownTree(nsCgroupDir?: string): Promise<KnownTree> {
  const dir = mkdtempSync(join(tmpdir(), 'forkline-tree-'));
  chmodSync(dir, 0o755); // the setuid child (uid 65534) writes its line too
  const script = join(dir, 'tree.sh');
  const out = join(dir, 'pids.txt');
  writeFileSync(script, TREE_SH, { mode: 0o755 });
  writeFileSync(join(dir, 'subreaper.py'), SUBREAPER_PY, { mode: 0o644 });
  writeFileSync(join(dir, 'nschild.py'), NSCHILD_PY, { mode: 0o644 });
  writeFileSync(out, '', { mode: 0o666 });
  chmodSync(out, 0o666);
  const env = nsCgroupDir === undefined ? process.env : { ...process.env, FORKLINE_NS_CGROUP: nsCgroupDir };
  const child = spawn(script, [out], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  const pids: Record<string, number> = {};
  let nsPid = 0;
  let nsInode = 0;
  let nsCgroup: string | undefined;
  for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
    const [label, pid, inner, ns, cgroup] = line.split(' ');
    pids[label!] = Number(pid);
    if (label === 'nschild') {
      nsPid = Number(inner);
      nsInode = nsLinkInode(ns!);
      nsCgroup = cgroup === '-' ? undefined : cgroup;
    }
  }
  for (const l of LABELS) if (!(pids[l]! > 0)) throw new Error(`known tree: no pid for ${l} in ${out}`);
  if (child.pid !== pids.script) throw new Error(`known tree: script pid ${pids.script} is not the spawned ${child.pid}`);
  return { dir, script, out, pids, nsPid, nsInode, nsCgroup, exitCode };
}

/** "pid:[4026531836]" -> 4026531836. */
export function nsLinkInode(link: string): number {
  const m = /\[(\d+)\]$/.exec(link);
  if (!m) throw new Error(`not a namespace link: ${link}`);
  return Number(m[1]);
}

/** Inode of this process's pid namespace. */
export function ownPidnsInode(): number {
  return nsLinkInode(readlinkSync('/proc/self/ns/pid'));
}

/**
 * The cgroup id of a cgroup v2 path, measured the plain way: the inode of
 * its directory under the cgroup2 mount that /proc/self/mountinfo lists
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid layout). undefined
 * without a cgroup2 mount.
 */
export function cgroupInode(path: string): bigint | undefined {
  const mount = cgroup2Mount();
  return mount === undefined ? undefined : statSync(`${mount}${path === '/' ? '' : path}`, { bigint: true }).ino;
}

/** Where /proc/self/mountinfo says the cgroup v2 hierarchy is mounted, undefined when it is not. */
export function cgroup2Mount(): string | undefined {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[f.indexOf('-') + 1] === 'cgroup2' && f[3] === '/')?.[4];
}

/** This process's cgroup v2 path ("0::" line), undefined without one. */
export function ownCgroup(): string | undefined {
  return readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3);
}

/**
 * A new empty cgroup v2 directory next to this process's cgroup, for the
 * nschild to move into; undefined when it cannot be made (no cgroup2 mount,
 * no permission). `remove()` deletes it (it must be empty by then).
 */
export function scratchCgroup(): { dir: string; path: string; remove: () => void } | undefined {
  const mount = cgroup2Mount();
  const own = ownCgroup();
  if (mount === undefined || own === undefined) return undefined;
  const path = `${own === '/' ? '' : own}/forkline-test-${process.pid}-${Date.now()}`;
  const dir = mount + path;
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  const remove = (): void => {
    try {
      rmdirSync(dir); // a cgroup directory goes with rmdir once no process is left in it
    } catch {
      // already gone, or a process still in it: left for the system
    }
  };
  return { dir, path, remove };
}

/** Mount id of the mount a file is on, as the kernel reports it for an open fd (/proc/self/fdinfo: mnt_id). */
export function mountIdOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const m = /^mnt_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (!m) throw new Error(`no mnt_id in the fdinfo of ${path}`);
    return Number(m[1]);
  } finally {
    closeSync(fd);
  }
}

/** A live capture of `kind` that has seen the known tree: filled by the beforeAll it registers. */
export interface CapturedTree {
  live: Live;
  tree: KnownTree;
  /** The scratch cgroup the pid-namespace child moves into (undefined without cgroup v2). */
  nsCgroup: ReturnType<typeof scratchCgroup>;
  /** The cache's current entry of a labelled process of the tree. */
  resolve(label: string): ProcessEntry | undefined;
}

/**
 * Inside a describe(): starts a `kind` capture, runs the known tree under
 * it and waits until the capture has seen all of it (beforeAll); stops the
 * capture and removes the scratch cgroup afterwards (afterAll).
 */
export function captureKnownTree(kind: CaptureKind): CapturedTree {
  const captured = {
    nsCgroup: scratchCgroup(),
    resolve: (label: string) => captured.live.view.resolve(captured.tree.pids[label]!),
  } as CapturedTree;
  beforeAll(async () => {
    captured.live = startLive(kind);
    captured.tree = await runKnownTree(captured.nsCgroup?.dir);
    await captured.live.caughtUp(captured.live.now());
  }, 60_000);
  afterAll(async () => {
    await captured.live?.stop();
    captured.nsCgroup?.remove();
  });
  return captured;
}
