// The known process tree of the live tests: shell pipelines, a script run
// through its interpreter, a process that execs twice, a setuid change, an
// exit status, an orphan reparented to a subreaper and a child in a new pid
// namespace. Every process writes "label host-pid" to a file, so the test
// knows the ground truth without asking the agent.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
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
with open(out, "a") as f:
    f.write("nschild %d %d\\n" % (host_pid, os.getpid()))
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
  exitCode: number | null;
}

export const LABELS = ['script', 'pipe-left', 'pipe-right', 'twice', 'setuid', 'exit3', 'subreaper', 'orphan-parent', 'orphan', 'nschild'] as const;

/** Where a command really is (/bin is a link to /usr/bin on merged-/usr systems): what the kernel reports. */
export function real(path: string): string {
  return realpathSync(path);
}

export async function runKnownTree(): Promise<KnownTree> {
  const dir = mkdtempSync(join(tmpdir(), 'forkline-tree-'));
  chmodSync(dir, 0o755); // the setuid child (uid 65534) writes its line too
  const script = join(dir, 'tree.sh');
  const out = join(dir, 'pids.txt');
  writeFileSync(script, TREE_SH, { mode: 0o755 });
  writeFileSync(join(dir, 'subreaper.py'), SUBREAPER_PY, { mode: 0o644 });
  writeFileSync(join(dir, 'nschild.py'), NSCHILD_PY, { mode: 0o644 });
  writeFileSync(out, '', { mode: 0o666 });
  chmodSync(out, 0o666);
  const child = spawn(script, [out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  const pids: Record<string, number> = {};
  let nsPid = 0;
  for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
    const [label, pid, inner] = line.split(' ');
    pids[label!] = Number(pid);
    if (label === 'nschild') nsPid = Number(inner);
  }
  for (const l of LABELS) if (!(pids[l]! > 0)) throw new Error(`known tree: no pid for ${l} in ${out}`);
  if (child.pid !== pids.script) throw new Error(`known tree: script pid ${pids.script} is not the spawned ${child.pid}`);
  return { dir, script, out, pids, nsPid, exitCode };
}
