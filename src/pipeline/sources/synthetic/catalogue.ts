// What the simulated host is made of: the churn's binaries (a CI runner's),
// the words its command lines are built from, environments, the names a
// process renames itself to, user and group ids, exit codes.

import type { Binary } from './model.js';

// The churn's binaries, most frequent first (picked with a skew towards the
// head): a build farm runs sh, cc1, as, gcc and make far more than anything.
const SCRIPT = 'script';
export const BINARY_TABLE: readonly (readonly [string, string?, string?])[] = [
  ['/usr/bin/dash'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/cc1'],
  ['/usr/bin/x86_64-linux-gnu-as'],
  ['/usr/bin/x86_64-linux-gnu-gcc-12'],
  ['/usr/bin/make'],
  ['/usr/bin/x86_64-linux-gnu-ld.bfd'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/collect2'],
  ['/opt/ci/steps/build.py', SCRIPT, '/usr/bin/python3.11'],
  ['/usr/bin/git'],
  ['/usr/bin/sed'],
  ['/usr/bin/sudo', 'setuid'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus'],
  ['/usr/bin/bash'],
  ['/usr/bin/cat'],
  ['/usr/bin/grep'],
  ['/opt/ci/steps/run-tests.sh', SCRIPT, '/usr/bin/dash'],
  ['/usr/bin/mawk'],
  ['/usr/bin/rm'],
  ['/usr/bin/mkdir'],
  ['/usr/bin/python3.11'],
  ['/usr/bin/node'],
  ['/usr/share/nodejs/npm/bin/npm-cli.js', SCRIPT, '/usr/bin/node'],
  ['/usr/bin/ninja'],
  ['/usr/bin/cmake'],
  ['/usr/bin/x86_64-linux-gnu-ar'],
  ['/usr/bin/x86_64-linux-gnu-strip'],
  ['/usr/bin/tr'],
  ['/usr/bin/cut'],
  ['/usr/bin/sort'],
  ['/usr/bin/uniq'],
  ['/usr/bin/head'],
  ['/usr/bin/tail'],
  ['/usr/bin/wc'],
  ['/usr/bin/find'],
  ['/usr/bin/xargs'],
  ['/usr/bin/ls'],
  ['/usr/bin/cp'],
  ['/usr/bin/mv'],
  ['/usr/bin/ln'],
  ['/usr/bin/chmod'],
  ['/usr/bin/tar'],
  ['/usr/bin/gzip'],
  ['/usr/bin/curl'],
  ['/usr/bin/env'],
  ['/usr/bin/uname'],
  ['/usr/bin/date'],
  ['/usr/bin/id'],
  ['/usr/bin/sleep'],
  ['/usr/bin/true'],
  ['/usr/bin/dirname'],
  ['/usr/bin/basename'],
  ['/usr/bin/pkg-config'],
  ['/usr/bin/x86_64-linux-gnu-objcopy'],
  ['/usr/lib/git-core/git-remote-https'],
  ['/usr/bin/ssh'],
  ['/usr/bin/su', 'setuid'],
  ['/usr/bin/crontab', 'setgid'],
  ['/usr/bin/passwd', 'setuid'],
  ['/usr/local/bin/ci-artifact-uploader-wrapper'],
  ['/usr/bin/rustc'],
  ['/usr/bin/cargo'],
  ['/usr/lib/go-1.21/bin/go'],
  ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java'],
  ['/usr/bin/docker'],
];

const CRONTAB_GID = 107;

/** A binary of the catalogue: `kind` is 'script' (with its interpreter), 'setuid', 'setgid' or none. */
export function makeBinary(path: string, inode: number, kind?: string, interpreter?: string): Binary {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return {
    path,
    inode,
    comm: base.slice(0, 15),
    interpreter: kind === SCRIPT ? interpreter! : '',
    setuidRoot: kind === 'setuid',
    setgid: kind === 'setgid' ? CRONTAB_GID : -1,
    lastArgv: null,
  };
}

export const ARG_FLAGS = [
  '-c', '-o', '-g', '-O2', '-O0', '-Wall', '-Wextra', '-Werror', '-fPIC', '-pipe', '-MD', '-MP', '-MF', '-std=c11',
  '-std=gnu++17', '-DNDEBUG', '-D_GNU_SOURCE', '-fstack-protector-strong', '-pthread', '-j2', '--quiet', '-e', '-x',
  '-u', '-v', '--', '--color=never', '-quiet', '-dumpbase', '--64', '-I', '-L/usr/lib/x86_64-linux-gnu', '-lz',
];
export const ARG_DIRS = ['src', 'lib', 'include', 'build', 'obj', 'core', 'net', 'util', 'tests', 'third_party', 'crypto', 'io'];
export const ARG_NAMES = ['main', 'parser', 'lexer', 'buffer', 'hash', 'table', 'socket', 'event', 'config', 'alloc', 'log'];
export const ARG_EXTS = ['.c', '.o', '.h', '.cc', '.s', '.d', '.py', '.json', '.a'];
export const ENV_ITEMS = [
  'PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/runner', 'LANG=C.UTF-8', 'CI=true', 'TERM=xterm-256color',
  'MAKEFLAGS=-j2', 'CC=gcc', 'CFLAGS=-O2 -g', 'USER=runner', 'SHLVL=2', 'PWD=/home/runner/work/app',
  'GITHUB_TOKEN=ghs_0123456789abcdefABCDEF', 'RUNNER_TEMP=/home/runner/_temp', 'LD_LIBRARY_PATH=/opt/lib',
];
export const INIT_ENV: readonly string[] = Object.freeze(['HOME=/', 'TERM=linux']);
export const UNIT_ENV: readonly string[] = Object.freeze(['LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin']);
export const RENAMES = [
  'gmain', 'gdbus', 'V8 WorkerThread', 'pool-2-thread-1', 'node-worker', 'make[2]', 'cc1-jobserver', 'python3 -u',
  'git-gc', 'tokio-runtime-w', 'sshd: runner', 'ninja-worker',
];
export const USERS = [0, 33, 1000, 1001, 65534];
export const GROUPS = [0, 33, 100, 1000, 1001];
export const EXIT_CODES = [1, 2, 1, 127, 130, 137, 143];
