#!/usr/bin/env node
// Builds the BPF programs: bpf/*.bpf.c -> build-bpf/*.bpf.o -> one object,
// dist/bpf/forkline.bpf.o (linked with `bpftool gen object`), which
// native/bpf_loader.cc loads. No npm dependencies.
//
//   node scripts/build-bpf.mjs            build what is out of date
//   node scripts/build-bpf.mjs --force    rebuild everything (vmlinux.h too)
//
// build-bpf/vmlinux.h is generated from the running kernel's BTF
// (/sys/kernel/btf/vmlinux) when it is missing; it is never committed.
// Intermediate files live in build-bpf/ (not build/, which node-gyp wipes).

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'bpf');
/** The generated record header, src/record/record.bpf.h, is included as "record/record.bpf.h". */
const INCLUDE = join(root, 'src');
const RECORD_HEADER = join(INCLUDE, 'record', 'record.bpf.h');
const BUILD = join(root, 'build-bpf');
const OUT = join(root, 'dist', 'bpf', 'forkline.bpf.o');
const VMLINUX = join(BUILD, 'vmlinux.h');
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const APT = 'apt-get install -y clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool';
const ARCH = { x64: 'x86', arm64: 'arm64', arm: 'arm', s390x: 's390', ppc64: 'powerpc', riscv64: 'riscv' }[process.arch];

const force = process.argv.includes('--force');

function fail(msg, hint) {
  process.stderr.write(`build-bpf: ${msg}\n`);
  if (hint) process.stderr.write(`build-bpf: ${hint}\n`);
  process.exit(1);
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function run(cmd, args, opts = {}) {
  process.stderr.write(`  ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.stdout ?? 'inherit', 'inherit'] });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} exited with ${r.status ?? r.signal}`);
  return r;
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);

// ---- tools
const missing = [];
if (!has('clang', ['--version'])) missing.push('clang');
if (!has('bpftool', ['version'])) missing.push('bpftool');
if (!existsSync('/usr/include/bpf/bpf_helpers.h')) missing.push('libbpf headers (/usr/include/bpf)');
if (missing.length) fail(`missing ${missing.join(', ')}`, `install them with: ${APT}`);
if (!ARCH) fail(`unsupported architecture ${process.arch}`);

// ---- vmlinux.h
mkdirSync(BUILD, { recursive: true });
if (force || !existsSync(VMLINUX)) {
  if (!existsSync(KERNEL_BTF)) fail(`${KERNEL_BTF} is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is required)`);
  // straight into the file: vmlinux.h is megabytes, past spawnSync's pipe buffer
  const tmp = `${VMLINUX}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    run('bpftool', ['btf', 'dump', 'file', KERNEL_BTF, 'format', 'c'], { stdout: fd });
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, VMLINUX);
}

// ---- compile: every .bpf.c depends on itself, every header in bpf/, the record header and vmlinux.h
const entries = readdirSync(SRC);
const sources = entries.filter((f) => f.endsWith('.bpf.c')).sort();
if (!sources.length) fail(`no .bpf.c files in ${SRC}`);
const headerTime = Math.max(mtime(VMLINUX), mtime(RECORD_HEADER), ...entries.filter((f) => f.endsWith('.h')).map((f) => mtime(join(SRC, f))));
const objects = [];
for (const src of sources) {
  const srcPath = join(SRC, src);
  const obj = join(BUILD, src.replace(/\.c$/, '.o'));
  objects.push(obj);
  if (!force && mtime(obj) > Math.max(mtime(srcPath), headerTime)) continue;
  run('clang', [
    '-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${ARCH}`,
    '-Wall', '-Wno-unused-function',
    `-I${BUILD}`, `-I${SRC}`, `-I${INCLUDE}`,
    '-c', srcPath, '-o', obj,
  ]);
}

// ---- link into one object
if (force || mtime(OUT) <= Math.max(...objects.map(mtime))) {
  mkdirSync(dirname(OUT), { recursive: true });
  run('bpftool', ['gen', 'object', OUT, ...objects]);
  process.stderr.write(`build-bpf: wrote ${OUT}\n`);
}
