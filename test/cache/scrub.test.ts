// Scrubbing, second pass (issue 13, point 1): sensitive words inside keys,
// whatever the case and the '-'/'_' spelling, in every form a value can
// follow a key; -p after MySQL-like tools; Authorization headers; URL
// userinfo. docs/cache.md, "Arguments and environment".

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProcessResolver, SCRUBBED, type ResolverOptions } from '../../src/index.js';

const resolvers = new Map<string, ProcessResolver>();
let nextPid = 10;

/** Scrubs argv through the public API; one resolver per set of options (making one costs milliseconds). */
function scrub(argv: string[], options: ResolverOptions = {}): string[] {
  const k = JSON.stringify(options);
  let r = resolvers.get(k);
  if (r === undefined) resolvers.set(k, (r = new ProcessResolver({ capacity: 64, ...options })));
  const pid = nextPid++;
  const e = r.addExecEntry({ pid, time: BigInt(pid), path: '/usr/bin/tool', inode: 7, argv })!;
  r.deleteEntry(pid, BigInt(pid)); // its row is reclaimed: the table never fills
  return r.getProcessArgvScrubbed(e).values;
}

describe('scrubbing: sensitive words inside keys', () => {
  it('masks the values of keys that contain a word, in any case and with - or _', () => {
    expect(
      scrub([
        'app', '--api-key=a1', '--aws-secret-access-key=a2', '--secret_key=a3', '--passwords=a4',
        '--private-key=a5', '--APIKEY=a6', '--Api_Key=a7',
      ]),
    ).toEqual([
      'app', `--api-key=${SCRUBBED}`, `--aws-secret-access-key=${SCRUBBED}`, `--secret_key=${SCRUBBED}`,
      `--passwords=${SCRUBBED}`, `--private-key=${SCRUBBED}`, `--APIKEY=${SCRUBBED}`, `--Api_Key=${SCRUBBED}`,
    ]);
  });

  it('masks --key value, key: value, KEY=value', () => {
    expect(scrub(['app', '--pass', 'p1', '--db-password', 'p2'])).toEqual(['app', '--pass', SCRUBBED, '--db-password', SCRUBBED]);
    expect(scrub(['app', 'api-key:', 'p3', 'token: p4'])).toEqual(['app', 'api-key:', SCRUBBED, `token: ${SCRUBBED}`]);
    expect(scrub(['env', 'AWS_SECRET_ACCESS_KEY=p5', 'GITHUB_TOKEN=p6', 'HOME=/root'])).toEqual([
      'env', `AWS_SECRET_ACCESS_KEY=${SCRUBBED}`, `GITHUB_TOKEN=${SCRUBBED}`, 'HOME=/root',
    ]);
  });

  it('masks a value given after a key inside another option or a URL query', () => {
    expect(scrub(['app', '-o', 'user=bob,password=p7'])).toEqual(['app', '-o', `user=bob,password=${SCRUBBED}`]);
    expect(scrub(['curl', 'https://x.example/api?user=bob&token=p8'])).toEqual(['curl', `https://x.example/api?user=bob&token=${SCRUBBED}`]);
  });

  it('masks -p after MySQL-like tools, joined or separate, also inside shell strings and after wrappers', () => {
    expect(scrub(['mysql', '-u', 'root', '-p', 'p9', 'db'])).toEqual(['mysql', '-u', 'root', '-p', SCRUBBED, 'db']);
    expect(scrub(['/usr/bin/mysqldump', '-pp10', 'db'])).toEqual(['/usr/bin/mysqldump', `-p${SCRUBBED}`, 'db']);
    expect(scrub(['sh', '-c', 'mariadb -u root -pp11 db'])).toEqual(['sh', '-c', `mariadb -u root -p${SCRUBBED} db`]);
    expect(scrub(['sudo', 'mysql', '-p', 'p12'])).toEqual(['sudo', 'mysql', '-p', SCRUBBED]);
    expect(scrub(['redis-cli', '-a', 'p13', 'ping'])).toEqual(['redis-cli', '-a', SCRUBBED, 'ping']);
    // -P is mysql's port, and -p of other tools is theirs
    expect(scrub(['mysql', '-P', '3306'])).toEqual(['mysql', '-P', '3306']);
    expect(scrub(['cp', '-p', 'a', 'b'])).toEqual(['cp', '-p', 'a', 'b']);
  });

  it('masks the credentials of Authorization headers, keeping the scheme', () => {
    expect(scrub(['curl', '-H', 'Authorization: Bearer p14', 'https://x'])).toEqual([
      'curl', '-H', `Authorization: Bearer ${SCRUBBED}`, 'https://x',
    ]);
    expect(scrub(['curl', '--header=authorization:Basic p15'])).toEqual(['curl', `--header=authorization:Basic ${SCRUBBED}`]);
    expect(scrub(['sh', '-c', 'curl -H "Authorization: Bearer p16" https://x'])).toEqual([
      'sh', '-c', `curl -H "Authorization: Bearer ${SCRUBBED}" https://x`,
    ]);
    expect(scrub(['wget', '--header', 'Authorization:', 'p17'])).toEqual(['wget', '--header', 'Authorization:', SCRUBBED]);
  });

  it('masks the password of URL userinfo', () => {
    expect(scrub(['psql', 'postgres://user:p18@db.example:5432/app'])).toEqual(['psql', `postgres://user:${SCRUBBED}@db.example:5432/app`]);
    expect(scrub(['app', '--url=redis://:p19@cache/0'])).toEqual(['app', `--url=redis://:${SCRUBBED}@cache/0`]);
    expect(scrub(['git', 'clone', 'https://github.com/o/r'])).toEqual(['git', 'clone', 'https://github.com/o/r']);
  });

  it('matches configured scrubWords the same way', () => {
    expect(scrub(['app', '--Client-PIN=1', '--clientpin', '2'], { scrubWords: ['client_pin'] })).toEqual([
      'app', `--Client-PIN=${SCRUBBED}`, '--clientpin', SCRUBBED,
    ]);
  });

  it('prefers masking a harmless value to leaking: a word anywhere in a key masks the next argument', () => {
    expect(scrub(['app', '--secret-file', '/etc/x'])).toEqual(['app', '--secret-file', SCRUBBED]);
  });

  it('leaves paths and harmless arguments alone', () => {
    expect(scrub(['cat', '/run/secrets/db', '/tmp/y'])).toEqual(['cat', '/run/secrets/db', '/tmp/y']);
    expect(scrub(['ls', '-la', '/tmp', '--color=auto'])).toEqual(['ls', '-la', '/tmp', '--color=auto']);
  });
});

// ---- property: no secret survives, whatever form and spelling -------------

const BASE_WORDS = ['password', 'passwd', 'pass', 'secret', 'token', 'api_key', 'apikey', 'access_token', 'private_key', 'credentials'];

/** A key containing a sensitive word, with random case, '-'/'_' inserted in it, and random text around it. */
const keyArb = fc
  .record({
    word: fc.constantFrom(...BASE_WORDS),
    caseBits: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
    seps: fc.array(fc.constantFrom('', '', '', '-', '_'), { minLength: 20, maxLength: 20 }),
    prefix: fc.constantFrom('', 'db-', 'aws_', 'my', 'X-'),
    suffix: fc.constantFrom('', '-key', '_id', 's', 'File'),
  })
  .map(({ word, caseBits, seps, prefix, suffix }) => {
    const letters = word.replace(/[-_]/g, '').split('');
    const spelled = letters.map((c, i) => (caseBits[i] ? c.toUpperCase() : c) + (i < letters.length - 1 ? seps[i] : '')).join('');
    return prefix + spelled + suffix;
  });

/** A secret: marked so that it cannot come from the rest of the argv. */
const secretArb = fc.stringMatching(/^[A-Za-z0-9+/!#%^]{4,16}$/).map((s) => `Zq9${s}`);

const noiseArb = fc.constantFrom('-v', 'run', '/usr/lib/x', '--color=auto', 'https://example.com/a', '-x', 'db');

/** argv pieces carrying `secret` in one of the forms the scrubber must catch. */
const formArb = fc.tuple(keyArb, secretArb, fc.integer({ min: 0, max: 9 })).map(([key, secret, form]): [string[], string] => {
  switch (form) {
    case 0: return [[`--${key}=${secret}`], secret];
    case 1: return [[`--${key}`, secret], secret];
    case 2: return [[`${key}: ${secret}`], secret];
    case 3: return [[`${key.toUpperCase()}=${secret}`], secret];
    case 4: return [[`${key}:`, secret], secret];
    case 5: return [['mysql', '-p', secret], secret];
    case 6: return [['mysql', `-p${secret}`], secret];
    case 7: return [[`Authorization: Bearer ${secret}`], secret];
    case 8: return [[`postgres://user:${secret}@host/db`], secret];
    default: return [[`sh -c "tool --${key} ${secret} && ls"`], secret];
  }
});

describe('scrubbing property', () => {
  it('no secret given in a recognised form appears in the scrubbed argv', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('app', '/usr/bin/env', 'sh'),
        fc.array(fc.oneof(formArb.map((f) => ({ f })), noiseArb.map((n) => ({ n }))), { minLength: 1, maxLength: 8 }),
        (argv0, items) => {
          const argv: string[] = [argv0];
          const secrets: string[] = [];
          for (const it of items) {
            if ('n' in it) argv.push(it.n);
            else {
              argv.push(...it.f[0]);
              secrets.push(it.f[1]);
            }
          }
          const out = scrub(argv).join('\u0000');
          for (const s of secrets) expect(out).not.toContain(s);
          expect(scrub(argv)).toHaveLength(argv.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('arguments with no sensitive word, separator or URL are unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9./]{1,12}$/), { maxLength: 8 }), (args) => {
        const clean = args.filter((a) => !/pass|secret|token|key|auth|bearer|cred|mysql|mariadb|sshpass|redis/.test(a));
        expect(scrub(['app', ...clean])).toEqual(['app', ...clean]);
      }),
      { numRuns: 200 },
    );
  });
});
