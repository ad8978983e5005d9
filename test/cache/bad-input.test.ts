// Bad input: docs/cache.md "Bad input" and the byte rules of "Arguments and
// environment" (issue point 14).

import { describe, expect, it } from 'vitest';
import { MAX_PID, ProcessResolver } from '../../src/index.js';
import { bootInit } from './helpers.js';

/** A resolver with some state: init, a shell with a child, an exited pid. */
function populated() {
  const r = new ProcessResolver({ envsResolution: true });
  bootInit(r);
  r.addForkEntry({ pid: 10, ppid: 1, time: 10n });
  r.addExecEntry({ pid: 10, time: 11n, path: '/bin/sh', inode: 2, argv: ['sh'], envp: ['A=1'] });
  r.addForkEntry({ pid: 11, ppid: 10, time: 12n });
  r.applyExitEntry({ pid: 11, time: 13n });
  return r;
}

/** Everything observable about the tables. */
function observe(r: ProcessResolver) {
  return { stats: r.stats(), size: r.size, json: r.toJSON(true) };
}

const BAD_PIDS: { value: unknown; error: typeof RangeError | typeof TypeError }[] = [
  { value: -1, error: RangeError },
  { value: MAX_PID + 1, error: RangeError },
  { value: 1.5, error: TypeError },
  { value: '12', error: TypeError },
  { value: Number.NaN, error: TypeError },
  { value: undefined, error: TypeError },
];

type Call = [name: string, field: RegExp, call: (r: ProcessResolver, v: never) => unknown];

const PID_CALLS: Call[] = [
  ['addForkEntry pid', /fork\.pid/, (r, v) => r.addForkEntry({ pid: v, ppid: 1, time: 20n })],
  ['addForkEntry ppid', /fork\.ppid/, (r, v) => r.addForkEntry({ pid: 30, ppid: v, time: 20n })],
  ['addExecEntry pid', /exec\.pid/, (r, v) => r.addExecEntry({ pid: v, time: 20n, path: '/bin/x', inode: 1 })],
  ['addExecEntry ppid', /exec\.ppid/, (r, v) => r.addExecEntry({ pid: 10, ppid: v, time: 20n, path: '/bin/x', inode: 1 })],
  ['applyExitEntry pid', /exit\.pid/, (r, v) => r.applyExitEntry({ pid: v, time: 20n })],
  ['deleteEntry pid', /pid/, (r, v) => r.deleteEntry(v, 20n)],
  ['resolve', /pid/, (r, v) => r.resolve(v)],
  ['updateUid', /pid/, (r, v) => r.updateUid(v, { uid: 0 })],
  ['updateGid', /pid/, (r, v) => r.updateGid(v, { gid: 0 })],
  ['updateCapset', /pid/, (r, v) => r.updateCapset(v, { effective: 0n })],
  ['updateLoginUid', /pid/, (r, v) => r.updateLoginUid(v, 0)],
  ['tryReparentFromKernelPPid pid', /pid/, (r, v) => r.tryReparentFromKernelPPid(v, 1)],
  ['tryReparentFromKernelPPid kernelPPid', /kernelPPid/, (r, v) => r.tryReparentFromKernelPPid(10, v)],
];

describe('bad pids', () => {
  for (const [name, field, call] of PID_CALLS) {
    for (const { value, error } of BAD_PIDS) {
      if (value === undefined && name === 'addExecEntry ppid') continue; // exec.ppid is optional
      it(`${name}: ${typeof value === 'string' ? `'${value}'` : String(value)} is a ${error.name} naming the field, and nothing changes`, () => {
        const r = populated();
        const before = observe(r);
        let thrown: unknown;
        try {
          call(r, value as never);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(error);
        expect((thrown as Error).message).toMatch(field);
        expect(observe(r)).toEqual(before);
        // later valid events still work
        expect(r.addForkEntry({ pid: 40, ppid: 10, time: 30n })?.ancestor?.path).toBe('/bin/sh');
        expect(r.resolve(40)?.path).toBe('/bin/sh');
      });
    }
  }

  it(`accepts the largest pid, ${MAX_PID}`, () => {
    const r = populated();
    expect(r.addForkEntry({ pid: MAX_PID, ppid: 10, time: 30n })?.pid).toBe(MAX_PID);
    expect(r.resolve(MAX_PID)?.ppid).toBe(10);
  });
});

describe('bad events', () => {
  const CASES: [name: string, error: typeof RangeError | typeof TypeError, field: RegExp, call: (r: ProcessResolver) => unknown][] = [
    ['a fork time given as a number', TypeError, /fork\.time/, (r) => r.addForkEntry({ pid: 30, ppid: 10, time: 20 as never })],
    ['an exec time given as a number', TypeError, /exec\.time/, (r) => r.addExecEntry({ pid: 10, time: 20 as never, path: '/bin/x', inode: 1 })],
    ['an exit time given as a string', TypeError, /exit\.time/, (r) => r.applyExitEntry({ pid: 10, time: '20' as never })],
    ['a delete time given as a number', TypeError, /time/, (r) => r.deleteEntry(10, 20 as never)],
    ['a dequeueExited now given as a number', TypeError, /now/, (r) => r.dequeueExited(20 as never)],
    ['an argv element given as a number', TypeError, /exec\.argv\[1\]/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, argv: ['x', 5 as never] })],
    ['an argv that is a string', TypeError, /exec\.argv/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, argv: 'x y' as never })],
    ['an envp element given as null', TypeError, /exec\.envp\[0\]/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, envp: [null as never] })],
    ['a NUL inside a string argument', TypeError, /exec\.argv\[1\]/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, argv: ['x', 'a\0b'] })],
    ['a NUL inside a byte argument', TypeError, /exec\.argv\[0\]/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, argv: [new Uint8Array([0x61, 0, 0x62])] })],
    ['a NUL inside a path', TypeError, /exec\.path/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/\0x', inode: 1 })],
    ['an exec path given as a number', TypeError, /exec\.path/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: 42 as never, inode: 1 })],
    ['an exec without a path', TypeError, /exec\.path/, (r) => r.addExecEntry({ pid: 10, time: 20n, inode: 1 } as never)],
    ['a fork path given as a number', TypeError, /fork\.path/, (r) => r.addForkEntry({ pid: 30, ppid: 10, time: 20n, path: 42 as never })],
    ['a fork comm given as an array', TypeError, /fork\.comm/, (r) => r.addForkEntry({ pid: 30, ppid: 10, time: 20n, comm: ['x'] as never })],
    ['a credential id given as a string', TypeError, /credentials\.uid/, (r) => r.addForkEntry({ pid: 30, ppid: 10, time: 20n, credentials: { uid: '0' as never } })],
    ['a capability mask given as a number', TypeError, /capEffective/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: 1, credentials: { capEffective: 1 as never } })],
    ['a negative inode', TypeError, /exec\.inode/, (r) => r.addExecEntry({ pid: 10, time: 20n, path: '/bin/x', inode: -3 })],
    ['a fork event that is not an object', TypeError, /fork/, (r) => r.addForkEntry(null as never)],
    ['an exec event that is not an object', TypeError, /exec/, (r) => r.addExecEntry(7 as never)],
    ['an updateUid id given as a string', TypeError, /uid/, (r) => r.updateUid(10, { uid: 'root' as never })],
    ['an updateCapset mask given as a number', TypeError, /capEffective/, (r) => r.updateCapset(10, { effective: 3 as never })],
  ];

  for (const [name, error, field, call] of CASES) {
    it(`${name} is a ${error.name} naming the field, and nothing changes`, () => {
      const r = populated();
      const before = observe(r);
      let thrown: unknown;
      try {
        call(r);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(error);
      expect((thrown as Error).message).toMatch(field);
      expect(observe(r)).toEqual(before);
      // later valid events still work
      const e = r.addExecEntry({ pid: 10, time: 40n, path: '/bin/ok', inode: 7, argv: ['ok'] })!;
      expect(e.path).toBe('/bin/ok');
      expect(e.ancestor?.path).toBe('/bin/sh');
      expect(r.resolve(10)?.argv).toEqual(['ok']);
    });
  }
});

describe('oversized input', () => {
  it('an oversized argv is bounded and flagged, not an error', () => {
    const r = populated();
    const huge = ['prog', 'a'.repeat(1 << 20), ...Array.from({ length: 100_000 }, (_, i) => `arg${i}`)];
    const e = r.addExecEntry({ pid: 10, time: 20n, path: '/bin/prog', inode: 5, argv: huge })!;
    expect(e.argsTruncated).toBe(true);
    expect(e.argv[0]).toBe('prog');
    expect(e.argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0)).toBeLessThanOrEqual(4096);
    expect(r.stats().argsTruncated).toBe(1);
    // a multi-byte argument is cut on a character boundary or shown with U+FFFD, never a throw
    const e2 = r.addExecEntry({ pid: 10, time: 21n, path: '/bin/prog', inode: 5, argv: ['é'.repeat(5000)] })!;
    expect(e2.argsTruncated).toBe(true);
    expect(Buffer.byteLength(e2.argv[0]!)).toBeLessThanOrEqual(4095);
  });
});

describe('bytes that are not UTF-8', () => {
  const PATH_FF = new Uint8Array([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x61, 0xff, 0xfe]); // "/tmp/a\xff\xfe"
  const PATH_FE = new Uint8Array([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x61, 0xfe, 0xff]); // "/tmp/a\xfe\xff"

  it('are kept in paths and arguments and read with U+FFFD, never a throw', () => {
    const r = populated();
    const e = r.addExecEntry({
      pid: 10,
      time: 20n,
      path: PATH_FF,
      inode: 9,
      argv: [new Uint8Array([0x61, 0xff]), 'plain', new Uint8Array([0xc3])],
    })!;
    expect(e.path).toBe('/tmp/a\uFFFD\uFFFD');
    expect(e.basename).toBe('a\uFFFD\uFFFD');
    expect(e.comm).toBe('a\uFFFD\uFFFD');
    expect(e.argv).toEqual(['a\uFFFD', 'plain', '\uFFFD']);
    expect(r.resolve(10)?.path).toBe('/tmp/a\uFFFD\uFFFD');
    // exports do not choke on them either
    expect(() => JSON.parse(r.toJSON())).not.toThrow();
    expect(r.toDot()).toContain('a\uFFFD\uFFFD');
  });

  it('are kept in the path and comm of a fork with an unknown parent, and lone surrogates do not throw', () => {
    const r = populated();
    const e = r.addForkEntry({ pid: 60, ppid: 59, time: 20n, path: PATH_FE, comm: new Uint8Array([0x6b, 0xff]) })!;
    expect(e.path).toBe('/tmp/a\uFFFD\uFFFD');
    expect(e.comm).toBe('k\uFFFD');
    const s = r.addExecEntry({ pid: 61, time: 21n, path: '/bin/\uD800x', inode: 1, argv: ['\uDC00'] })!;
    expect(s.path).toBe('/bin/\uFFFDx');
    expect(s.argv).toEqual(['\uFFFD']);
  });

  it('two different invalid byte strings stay two different paths', () => {
    const r = populated();
    const a = r.addExecEntry({ pid: 10, time: 20n, path: PATH_FF, inode: 9, argv: ['x'] })!;
    const strings = r.stats().strings.count;
    // Read as strings both look the same; as bytes they differ, so this is a new
    // image (a new entry), not an exec bomb of the same one.
    const b = r.addExecEntry({ pid: 10, time: 21n, path: PATH_FE, inode: 9, argv: ['x'] })!;
    expect(a.path).toBe(b.path);
    expect(b.execTime).toBe(21n);
    expect(b.ancestor?.execTime).toBe(20n);
    expect(r.stats().execBombs).toBe(0);
    expect(r.stats().strings.count).toBeGreaterThan(strings);
    // the same bytes again are the same path: an exec bomb
    r.addExecEntry({ pid: 10, time: 22n, path: PATH_FE, inode: 9, argv: ['x'] });
    expect(r.stats().execBombs).toBe(1);
  });

  it('a forked child copies the raw path bytes of its parent', () => {
    const r = populated();
    r.addExecEntry({ pid: 10, time: 20n, path: PATH_FF, inode: 9, argv: ['x'] });
    r.addForkEntry({ pid: 50, ppid: 10, time: 21n });
    // the child's exec of the same bytes is judged on bytes: a new image of a forked
    // child (not a bomb), with the same path read back
    const e = r.addExecEntry({ pid: 50, time: 22n, path: PATH_FF, inode: 9, argv: ['x'] })!;
    expect(e.path).toBe('/tmp/a\uFFFD\uFFFD');
    expect(e.ancestor?.path).toBe('/tmp/a\uFFFD\uFFFD');
    // a second identical exec is a bomb: the stored bytes compare equal
    r.addExecEntry({ pid: 50, time: 23n, path: PATH_FF, inode: 9, argv: ['x'] });
    expect(r.stats().execBombs).toBe(1);
  });
});

describe('bad options', () => {
  it('an unknown option key is a TypeError naming it', () => {
    expect(() => new ProcessResolver({ capacty: 10 } as never)).toThrow(TypeError);
    expect(() => new ProcessResolver({ capacty: 10 } as never)).toThrow(/capacty/);
  });

  it('an option of the wrong type is a TypeError', () => {
    expect(() => new ProcessResolver({ exitedRetention: 5 as never })).toThrow(TypeError);
    expect(() => new ProcessResolver({ scrubWords: 'token' as never })).toThrow(TypeError);
    expect(() => new ProcessResolver({ maxArgvBytes: -1 })).toThrow(TypeError);
  });
});
