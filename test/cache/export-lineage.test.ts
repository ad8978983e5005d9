// Exports, counters and lineage checks (issue points 11 and 12).

import { readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { bootInit } from './helpers.js';

interface JsonEntry {
  id: number;
  key: string;
  pid: number;
  ppid: number;
  forkTime: string;
  execTime: string;
  exitTime: string;
  live: boolean;
  path: string;
  argv: string[];
  envs: string[];
  isExec: boolean;
  ancestor: number | null;
}

function entriesOf(json: string): JsonEntry[] {
  return (JSON.parse(json) as { entries: JsonEntry[] }).entries;
}

/** init, a shell (pid 10, flushed after exit) and its child mysql (pid 20). */
function scene() {
  const r = new ProcessResolver({ exitedRetention: 0n, envsResolution: true });
  bootInit(r);
  r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
  r.addExecEntry({ pid: 10, time: 110n, path: '/bin/bash', inode: 3, argv: ['bash'], envp: ['HOME=/root'] });
  r.addForkEntry({ pid: 20, ppid: 10, time: 120n });
  r.addExecEntry({
    pid: 20,
    time: 130n,
    path: '/usr/bin/mysql',
    inode: 4,
    argv: ['mysql', '--password=hunter2'],
    envp: ['MYSQL_PWD=hunter2'],
  });
  r.applyExitEntry({ pid: 10, time: 140n });
  r.dequeueExited(150n);
  return r;
}

describe('toJSON', () => {
  it('lists live entries and the exited ancestors they reach, marked not live, each once', () => {
    const r = scene();
    const entries = entriesOf(r.toJSON());
    const byPid = (pid: number) => entries.filter((e) => e.pid === pid);
    expect(byPid(20).map((e) => [e.path, e.live])).toEqual(
      expect.arrayContaining([
        ['/usr/bin/mysql', true],
        ['/bin/bash', false], // fork image of 20
      ]),
    );
    // pid 10 was flushed: its two images are still there (ancestors of 20), not live
    const ten = byPid(10);
    expect(ten).toHaveLength(2);
    expect(ten.every((e) => !e.live)).toBe(true);
    expect(ten.find((e) => e.path === '/bin/bash')?.exitTime).toBe('140');
    // ids are unique and every ancestor id points at an earlier entry of the export
    const ids = entries.map((e) => e.id);
    expect(new Set(ids).size).toBe(entries.length);
    entries.forEach((e, i) => {
      expect(e.id).toBe(i);
      if (e.ancestor !== null) expect(e.ancestor).toBeLessThan(i);
    });
    const keys = new Set(entries.map((e) => e.key));
    expect(keys.size).toBe(entries.length);
    // live entries are exactly the cache
    expect(entries.filter((e) => e.live)).toHaveLength(r.size);
  });

  it('scrubs argv and gives env names only by default, raw values with raw = true', () => {
    const r = scene();
    const scrubbed = entriesOf(r.toJSON()).find((e) => e.path === '/usr/bin/mysql' && e.isExec)!;
    expect(scrubbed.argv).toEqual(['mysql', '--password=********']);
    expect(scrubbed.envs).toEqual(['MYSQL_PWD']);
    expect(r.toJSON()).not.toContain('hunter2');
    const raw = entriesOf(r.toJSON(true)).find((e) => e.path === '/usr/bin/mysql' && e.isExec)!;
    expect(raw.argv).toEqual(['mysql', '--password=hunter2']);
    expect(raw.envs).toEqual(['MYSQL_PWD=hunter2']);
  });
});

describe('toDot', () => {
  it('is a Graphviz digraph with exited entries dashed and edges labelled fork or exec', () => {
    const r = scene();
    const dot = r.toDot();
    expect(dot.startsWith('digraph')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    const nodeLines = dot.split('\n').filter((l) => /^\s*n\d+ \[label=/.test(l));
    const mysql = nodeLines.find((l) => l.includes('/usr/bin/mysql'))!;
    expect(mysql).toBeDefined();
    expect(mysql).not.toContain('dashed');
    const bash10 = nodeLines.find((l) => l.includes('"10 /bin/bash'))!;
    expect(bash10).toContain('dashed');
    // every entry is a node: 1 (fork, exec), 10 (fork, exec), 20 (fork, exec)
    expect(nodeLines).toHaveLength(6);
    const edges = dot.split('\n').filter((l) => l.includes('->'));
    expect(edges).toHaveLength(5);
    expect(edges.filter((l) => l.includes('label="exec"'))).toHaveLength(3);
    expect(edges.filter((l) => l.includes('label="fork"'))).toHaveLength(2);
  });

  it('shows scrubbed arguments only when asked', () => {
    const r = scene();
    expect(r.toDot()).not.toContain('--password');
    const withArgs = r.toDot(true);
    expect(withArgs).toContain('--password=********');
    expect(withArgs).not.toContain('hunter2');
  });
});

describe('dump', () => {
  it('writes the JSON to a new file readable by its owner only and returns its path', async () => {
    const r = scene();
    const file = await r.dump();
    try {
      const st = await stat(file);
      expect(st.mode & 0o777).toBe(0o600);
      const text = await readFile(file, 'utf8');
      expect(JSON.parse(text)).toEqual(JSON.parse(r.toJSON()));
      expect(text).not.toContain('hunter2');
    } finally {
      await rm(dirname(file), { recursive: true, force: true });
    }
  });

  it('writes the Graphviz form with mode 0600 too, a new file each time', async () => {
    const r = scene();
    const a = await r.dump('dot');
    const b = await r.dump('dot');
    try {
      expect(a).not.toBe(b);
      expect((await stat(a)).mode & 0o777).toBe(0o600);
      expect(await readFile(a, 'utf8')).toContain('digraph');
    } finally {
      await rm(dirname(a), { recursive: true, force: true });
      await rm(dirname(b), { recursive: true, force: true });
    }
  });
});

describe('stats', () => {
  it('counts cache size, hits and misses, added entries, flushed pids and broken lineage', () => {
    const r = new ProcessResolver({ exitedRetention: 0n });
    const s0 = r.stats();
    expect(s0.cacheSize).toBe(0);
    expect(s0.rows).toBe(0);
    bootInit(r); // 2 entries
    r.addForkEntry({ pid: 10, ppid: 1, time: 10n });
    r.addForkEntry({ pid: 11, ppid: 99, time: 11n }); // parent missing
    r.resolve(10);
    r.resolve(10);
    r.resolve(12345);
    r.applyExitEntry({ pid: 10, time: 20n });
    r.dequeueExited(30n);
    r.hasValidLineage(r.resolve(11)!);
    const s = r.stats();
    expect(s.cacheSize).toBe(2);
    expect(s.cacheSize).toBe(r.size);
    expect(s.added).toEqual({ event: 4, snapshot: 0, procfs: 0 });
    expect(s.hits.event).toBe(3);
    expect(s.misses).toBe(1);
    expect(s.flushed).toBe(1);
    expect(s.brokenLineage).toBe(1);
    expect(s.rows).toBeLessThanOrEqual(s.rowCapacity);
    expect(s.rowCapacity).toBe(65536);
  });
});

describe('hasValidLineage', () => {
  it('is ok for a chain that reaches pid 1', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 10n });
    r.addExecEntry({ pid: 10, time: 11n, path: '/bin/sh', inode: 2 });
    r.addForkEntry({ pid: 11, ppid: 10, time: 12n });
    expect(r.hasValidLineage(r.resolve(11)!)).toEqual({ ok: true });
    expect(r.stats().brokenLineage).toBe(0);
  });

  it("is ok for init's own exec chain", () => {
    const r = new ProcessResolver();
    r.addForkEntry({ pid: 1, ppid: 0, time: 1n });
    expect(r.hasValidLineage(r.resolve(1)!)).toEqual({ ok: true });
    r.addExecEntry({ pid: 1, time: 2n, path: '/init', inode: 1 });
    r.addExecEntry({ pid: 1, time: 3n, path: '/sbin/init', inode: 2 });
    r.addExecEntry({ pid: 1, time: 4n, path: '/lib/systemd/systemd', inode: 3 });
    expect(r.hasValidLineage(r.resolve(1)!)).toEqual({ ok: true });
  });

  it('reports a missing parent node with the pid whose parent was never seen', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 50, ppid: 49, time: 10n });
    r.addForkEntry({ pid: 51, ppid: 50, time: 11n });
    expect(r.hasValidLineage(r.resolve(51)!)).toEqual({ ok: false, reason: 'missing-parent-node', pid: 50, ppid: 49 });
    expect(r.stats().brokenLineage).toBe(1);
  });

  it('reports a missing parent node for a lost exec (inode mismatch)', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 10n });
    r.addExecEntry({ pid: 10, time: 11n, path: '/bin/sh', inode: 2 });
    r.addForkEntry({ pid: 11, ppid: 10, time: 12n, inode: 999, path: '/bin/other' });
    const res = r.hasValidLineage(r.resolve(11)!);
    expect(res).toMatchObject({ ok: false, reason: 'missing-parent-node', pid: 11 });
  });

  it('reports a wrong parent node when pid 1 descends from another pid', () => {
    const r = new ProcessResolver();
    r.addForkEntry({ pid: 5, ppid: 0, time: 1n });
    r.addForkEntry({ pid: 1, ppid: 5, time: 2n }); // pid 1 forked from another pid
    r.addForkEntry({ pid: 100, ppid: 1, time: 3n });
    expect(r.hasValidLineage(r.resolve(100)!)).toEqual({ ok: false, reason: 'wrong-parent-node', pid: 1, ppid: 5 });
    expect(r.hasValidLineage(r.resolve(1)!)).toMatchObject({ ok: false, reason: 'wrong-parent-node' });
  });

  it('reports an incomplete lineage for a chain that ends before pid 1 without a missing parent', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 300, ppid: 0, time: 10n }); // started by the kernel, not by init
    r.addExecEntry({ pid: 300, time: 11n, path: '/bin/agent', inode: 5 });
    r.addForkEntry({ pid: 301, ppid: 300, time: 12n });
    expect(r.resolve(300)?.isParentMissing).toBe(false);
    expect(r.hasValidLineage(r.resolve(301)!)).toEqual({ ok: false, reason: 'incomplete-lineage', pid: 300, ppid: 0 });
  });
});

describe('exports with a coarse clock', () => {
  it('keeps two images of one pid that share a key (same exec time) as two entries', () => {
    const r = new ProcessResolver();
    r.addForkEntry({ pid: 1, ppid: 0, time: 1n });
    r.addForkEntry({ pid: 10, ppid: 1, time: 2n });
    r.addExecEntry({ pid: 10, time: 5n, path: '/bin/a', inode: 1 });
    r.addExecEntry({ pid: 10, time: 5n, path: '/bin/b', inode: 2 });
    const entries = entriesOf(r.toJSON()).filter((e) => e.pid === 10);
    expect(entries.map((e) => e.path)).toEqual(['', '/bin/a', '/bin/b']);
    expect(entries.find((e) => e.path === '/bin/b')?.live).toBe(true);
    const dot = r.toDot();
    expect(dot).toContain('10 /bin/a');
    expect(dot).toContain('10 /bin/b');
  });
});
