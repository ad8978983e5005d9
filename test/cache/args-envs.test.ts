// Arguments and environment: docs/cache.md "Arguments and environment"
// (issue points 8 and 9).

import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRUB_WORDS, ProcessResolver, SCRUBBED, type ResolverOptions } from '../../src/index.js';

function execWith(argv: string[], options: ResolverOptions = {}, envp?: string[]) {
  const r = new ProcessResolver(options);
  r.addForkEntry({ pid: 10, ppid: 0, time: 1n });
  const e = r.addExecEntry({ pid: 10, time: 2n, path: '/usr/bin/tool', inode: 7, argv, envp })!;
  return { r, e };
}

function scrub(argv: string[], options: ResolverOptions = {}): string[] {
  const { r, e } = execWith(argv, options);
  return r.getProcessArgvScrubbed(e).values;
}

describe('argv scrubbing', () => {
  it('the mask is eight stars', () => {
    expect(SCRUBBED).toBe('********');
  });

  it('replaces the value after "=" in the same argument', () => {
    expect(scrub(['mysql', '--password=hunter2', '--user=bob'])).toEqual(['mysql', '--password=********', '--user=bob']);
  });

  it('replaces the value after ":" in the same argument', () => {
    expect(scrub(['curl', '--api_key:abc123', 'https://x'])).toEqual(['curl', '--api_key:********', 'https://x']);
  });

  it('replaces the next argument when the word ends its argument', () => {
    expect(scrub(['cli', '-token', 'abc', 'rest'])).toEqual(['cli', '-token', '********', 'rest']);
    expect(scrub(['mysql', '--password', 'hunter2', 'db'])).toEqual(['mysql', '--password', '********', 'db']);
  });

  it('replaces the word after a space inside one argument (sh -c strings)', () => {
    expect(scrub(['sh', '-c', 'mysql --password hunter2 db'])).toEqual(['sh', '-c', 'mysql --password ******** db']);
  });

  it('keeps argv[0] even when it contains a sensitive word', () => {
    expect(scrub(['/usr/bin/secret=tool', 'x'])).toEqual(['/usr/bin/secret=tool', 'x']);
    expect(scrub(['password:abc'])).toEqual(['password:abc']);
  });

  it('matches the words case-insensitively and keeps the word as written', () => {
    expect(scrub(['app', '--PASSWORD=x', '--Api_Key:y', '-TOKEN', 'z'])).toEqual([
      'app',
      '--PASSWORD=********',
      '--Api_Key:********',
      '-TOKEN',
      '********',
    ]);
  });

  it('scrubs every built-in word', () => {
    expect(DEFAULT_SCRUB_WORDS).toEqual(
      expect.arrayContaining([
        'password', 'passwd', 'mysql_pwd', 'access_token', 'auth_token', 'api_key', 'apikey',
        'secret', 'credentials', 'stripetoken', 'token',
      ]),
    );
    const words = [
      'password', 'passwd', 'mysql_pwd', 'access_token', 'auth_token', 'api_key', 'apikey',
      'secret', 'credentials', 'stripetoken', 'token',
    ];
    const out = scrub(['app', ...words.map((w) => `--${w}=v4lue`)]);
    expect(out).toEqual(['app', ...words.map((w) => `--${w}=********`)]);
    expect(out.join(' ')).not.toContain('v4lue');
  });

  it('leaves arguments without a sensitive word alone', () => {
    expect(scrub(['ls', '-la', '/tmp', '--color=auto'])).toEqual(['ls', '-la', '/tmp', '--color=auto']);
  });

  it('scrubs the configured scrubWords as well', () => {
    expect(scrub(['app', '--pin=1234', '--otp', '5678', '--name=x'], { scrubWords: ['pin', 'otp'] })).toEqual([
      'app',
      '--pin=********',
      '--otp',
      '********',
      '--name=x',
    ]);
    // without the option they are not sensitive
    expect(scrub(['app', '--pin=1234'])).toEqual(['app', '--pin=1234']);
  });

  it('keeps the raw argv on the entry and does not change it by scrubbing', () => {
    const { r, e } = execWith(['mysql', '--password=hunter2']);
    r.getProcessArgvScrubbed(e);
    expect(e.argv).toEqual(['mysql', '--password=hunter2']);
    expect(r.resolve(10)?.argv).toEqual(['mysql', '--password=hunter2']);
  });
});

describe('argv bound', () => {
  it('cuts argv at maxArgvBytes (one NUL per argument counted) and sets argsTruncated', () => {
    const argv = ['abc', 'defgh', 'ijklmnop', 'qrs'];
    const { r, e } = execWith(argv, { maxArgvBytes: 16 });
    expect(e.argsTruncated).toBe(true);
    const bytes = e.argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(16);
    // what is kept is a prefix of the arguments
    expect(e.argv.slice(0, 2)).toEqual(['abc', 'defgh']);
    expect(e.argv.length).toBeLessThan(argv.length);
    e.argv.forEach((a, i) => expect(argv[i]!.startsWith(a)).toBe(true));
    expect(r.getProcessArgvScrubbed(e).truncated).toBe(true);
    expect(r.stats().argsTruncated).toBe(1);
  });

  it('does not cut an argv of exactly maxArgvBytes', () => {
    const { r, e } = execWith(['abcd', 'efgh'], { maxArgvBytes: 10 });
    expect(e.argv).toEqual(['abcd', 'efgh']);
    expect(e.argsTruncated).toBe(false);
    expect(r.stats().argsTruncated).toBe(0);
  });

  it('bounds argv to 4096 bytes by default', () => {
    const argv = ['x'.repeat(3000), 'y'.repeat(1500), 'z'];
    const { e } = execWith(argv);
    expect(e.argsTruncated).toBe(true);
    expect(e.argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0)).toBeLessThanOrEqual(4096);
    expect(e.argv[0]).toBe(argv[0]);
  });

  it('keeps an argsTruncated flag given by the event', () => {
    const r = new ProcessResolver();
    const e = r.addExecEntry({ pid: 10, time: 1n, path: '/bin/x', inode: 1, argv: ['x'], argsTruncated: true })!;
    expect(e.argsTruncated).toBe(true);
    expect(e.argv).toEqual(['x']);
    // a fork copies the flag with the argv
    expect(r.addForkEntry({ pid: 11, ppid: 10, time: 2n })?.argsTruncated).toBe(true);
  });
});

describe('environment', () => {
  it('is not captured unless envsResolution is on', () => {
    const { r, e } = execWith(['app'], {}, ['PATH=/bin', 'SECRET=x']);
    expect(r.getProcessEnvs(e)).toEqual({ values: [], truncated: false });
    expect(r.getProcessEnvp(e)).toEqual({ values: [], truncated: false });
  });

  it('getProcessEnvs gives names only; getProcessEnvp the raw NAME=value list', () => {
    const { r, e } = execWith(['app'], { envsResolution: true }, ['PATH=/bin', 'DB_PASSWORD=hunter2', 'EMPTY=']);
    expect(r.getProcessEnvs(e)).toEqual({ values: ['PATH', 'DB_PASSWORD', 'EMPTY'], truncated: false });
    expect(r.getProcessEnvp(e)).toEqual({ values: ['PATH=/bin', 'DB_PASSWORD=hunter2', 'EMPTY='], truncated: false });
  });

  it('names listed in envsWithValue keep NAME=value', () => {
    const { r, e } = execWith(['app'], { envsResolution: true, envsWithValue: ['LANG', 'TZ'] }, [
      'PATH=/bin',
      'LANG=C.UTF-8',
      'TZ=UTC',
      'LANGUAGE=en',
    ]);
    expect(r.getProcessEnvs(e).values).toEqual(['PATH', 'LANG=C.UTF-8', 'TZ=UTC', 'LANGUAGE']);
  });

  it('bounds envp to maxEnvpBytes and sets envsTruncated', () => {
    const envp = ['A=1', 'BB=22', 'CCCC=4444', 'D=5'];
    const { r, e } = execWith(['app'], { envsResolution: true, maxEnvpBytes: 12 }, envp);
    const kept = r.getProcessEnvp(e);
    expect(kept.truncated).toBe(true);
    expect(e.envsTruncated).toBe(true);
    expect(kept.values.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0)).toBeLessThanOrEqual(12);
    expect(kept.values.slice(0, 2)).toEqual(['A=1', 'BB=22']);
    expect(kept.values.length).toBeLessThan(envp.length);
    expect(r.getProcessEnvs(e).truncated).toBe(true);
    expect(r.stats().envsTruncated).toBe(1);
  });
});
