// The command line against a careless or hostile user (issue 14): files it
// writes, bad inputs it refuses; a clear message each time, never a stack.

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostResources } from '../../src/ops/config.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');

function forkline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

const NO_STACK = /^\s+at /m;
const dirOf = () => mkdtempSync(join(tmpdir(), 'forkline-hard-'));

describe('files the command writes', () => {
  it('synth --out and replay --summary-json replace a 0644 file by a 0600 one', () => {
    const dir = dirOf();
    const rec = join(dir, 'a.fkl');
    const sum = join(dir, 'sum.json');
    for (const f of [rec, sum]) {
      writeFileSync(f, 'old');
      chmodSync(f, 0o644);
    }
    expect(forkline('synth', '--events', '200', '--out', rec).status).toBe(0);
    expect(statSync(rec).mode & 0o777).toBe(0o600);
    const r = forkline('replay', rec, '--shards', '1', '--summary-json', sum);
    expect(r.status).toBe(0);
    expect(statSync(sum).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(sum, 'utf8')).events.fork).toBeGreaterThan(0);
  });

  it('a symlink planted at --out or --summary-json is refused before any work, its target untouched', () => {
    const dir = dirOf();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    const link = join(dir, 'out');
    symlinkSync(victim, link);
    const s = forkline('synth', '--events', '10', '--out', link);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/^forkline synth: cannot write .*out: it is a symbolic link/m);
    expect(s.stderr).not.toMatch(NO_STACK);
    const rec = join(dir, 'a.fkl');
    expect(forkline('synth', '--events', '10', '--out', rec).status).toBe(0);
    const r = forkline('replay', rec, '--summary-json', link);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/symbolic link/)]);
    expect(r.stdout).toBe(''); // refused before the replay ran
    const run = forkline('run', '--source', 'procfs', '--record', link, '--no-socket', '--duration', '1');
    expect([run.status, run.stderr]).toEqual([2, expect.stringMatching(/^forkline run: cannot write .*out: it is a symbolic link/m)]);
    expect(run.stderr).not.toMatch(/polling/); // refused before the source started
    const d = forkline('dump', '--out', link, '--socket', join(dir, 'no.sock'));
    expect([d.status, d.stderr]).toEqual([2, expect.stringMatching(/^forkline dump: cannot write .*symbolic link/m)]);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readlinkSync(link)).toBe(victim);
  });
});

describe('replay of what is not a recording', () => {
  it('a missing file, a directory, a FIFO with no writer: one line each, exit 1, no stack, no hang', () => {
    const dir = dirOf();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(join(dir, 'sub'));
    for (const [file, why] of [
      [join(dir, 'missing.fkl'), /no such file/],
      [join(dir, 'sub'), /it is a directory/],
      [fifo, /it is a FIFO/],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'replay', file], { encoding: 'utf8', timeout: 20_000 });
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^forkline replay: cannot read .*: ${why.source}.*\\[ERR_REPLAY_FILE\\]$`, 'm'));
      expect(r.stderr).not.toMatch(NO_STACK);
      expect(r.stdout).toBe('');
    }
  });

  it('a header with bytes 12..15 set to 0xffffffff: exit 1 naming the field, not "0 events applied"', () => {
    const dir = dirOf();
    const rec = join(dir, 'a.fkl');
    expect(forkline('synth', '--events', '50', '--out', rec).status).toBe(0);
    const raw = readFileSync(rec);
    raw.writeUInt32LE(0xffffffff, 12);
    writeFileSync(rec, raw);
    const r = forkline('replay', rec);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/corrupt header: field headerBytes \(bytes 12\.\.15\) is 4294967295/);
    expect(r.stdout).toBe('');
  });
});

/** File offsets of the records of a recording, with their types. */
function recordsOf(raw: Buffer): { offset: number; type: number }[] {
  const out = [];
  for (let off = 32; off < raw.length; off += raw.readUInt32LE(off + 4)) out.push({ offset: off, type: raw.readUInt16LE(off) });
  return out;
}

describe('replay of damaged records', () => {
  const dir = dirOf();
  const rec = join(dir, 'clean.fkl');

  it('a clean recording (lost and reordered events included) exits 0 and says nothing of corruption', () => {
    expect(forkline('synth', '--events', '5000', '--lost-rate', '0.01', '--reorder-rate', '0.05', '--out', rec).status).toBe(0);
    const r = forkline('replay', rec, '--json');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout).dropped.decodeErrors).toBe(0);
  });

  it('a malformed record: exit 1 naming the first bad offset; --allow-corrupt applies the rest and exits 0', () => {
    const raw = readFileSync(rec);
    const records = recordsOf(raw);
    const bad = records.filter((r) => r.type === 1 || r.type === 2).slice(100, 103);
    for (const r of bad) raw.writeUInt16LE(0x8000, r.offset + 2); // unknown flag bits
    const file = join(dir, 'flags.fkl');
    writeFileSync(file, raw);
    const r = forkline('replay', file, '--json', '--shards', '2');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`records refused as corrupt: 3 malformed; the first at byte ${bad[0]!.offset}: (FORK|EXEC) flags 0x8000 has unknown bits`));
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(JSON.parse(r.stdout).dropped.decodeErrors).toBe(3);
    const allowed = forkline('replay', file, '--allow-corrupt');
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toMatch(/3 malformed; the first at byte .*the rest was applied \(--allow-corrupt\)/);
  });

  it('a FORK with pid 0xFFFFFFFF is refused, counted and named', () => {
    const raw = readFileSync(rec);
    const fork = recordsOf(raw).filter((r) => r.type === 1)[50]!;
    raw.writeUInt32LE(0xffffffff, fork.offset + 40); // FORK_PID
    const file = join(dir, 'pid.fkl');
    writeFileSync(file, raw);
    const r = forkline('replay', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`1 malformed \\(1 with a pid out of range\\); the first at byte ${fork.offset}: FORK pid 4294967295`));
  });
});

describe('options refused before anything starts', () => {
  it('run --capacity 1: exit 2 naming the key, before any source starts; replay --capacity 1 likewise', () => {
    const r = forkline('run', '--capacity', '1', '--source', 'procfs', '--no-socket', '--duration', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^forkline run: config key "capacity" \(flag\): must be an integer in 16\.\.16777216/m);
    expect(r.stderr).not.toMatch(/source|polling/);
    expect(r.stderr).not.toMatch(NO_STACK);
    const p = forkline('replay', '/nonexistent.fkl', '--capacity', '1');
    expect(p.status).not.toBe(0);
    expect(p.stderr).toMatch(/--capacity.*must be an integer in 16\.\.16777216/);
    expect(p.stderr).not.toMatch(NO_STACK);
    const big = forkline('replay', '/nonexistent.fkl', '--capacity', '16777216', '--shards', '64');
    expect(big.status).toBe(2);
    expect(big.stderr).toMatch(/^forkline replay: config key "capacity" \(flag\): 64 shards of 16777216 rows take .* over the limit of/m);
  });

  it('--socket with a path over 107 bytes: refused before anything is created, no socket file left', () => {
    const dir = dirOf();
    const sock = join(dir, 'x'.repeat(120 - dir.length), 'forkline.sock');
    const r = forkline('run', '--source', 'procfs', '--duration', '1', '--socket', sock);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config key "socket\.path" \(flag\): must be at most 107 bytes/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(readdirSync(dir)).toEqual([]); // no directory made for it, no cut socket file
    expect(existsSync(sock.slice(0, 107))).toBe(false);
  });

  it('--ring-bytes-per-cpu larger than this host can give its BPF rings is refused naming the limit', () => {
    const host = hostResources();
    let size = 4096;
    while (size * host.possibleCpus <= host.totalMem / 8) size *= 2;
    if (size > 2 ** 31) return; // a host so large that the key's own bound (2 GiB) comes first
    const r = forkline('run', '--ring-bytes-per-cpu', String(size), '--no-socket', '--duration', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`config key "ringBytesPerCpu" \\(for this host\\): ${size} bytes times ${host.possibleCpus} CPUs .* over the limit of .*: at most ${size / 2} here`));
    expect(r.stderr).not.toMatch(/source/);
  });
});
