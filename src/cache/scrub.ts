// Argument scrubbing and environment filtering: what may be shown of a
// process's argv and envp to people and logs. The rules are in
// docs/cache.md ("Arguments and environment"); when in doubt, mask: a
// harmless value masked costs less than a secret shown.

export const DEFAULT_SCRUB_WORDS: readonly string[] = [
  'password', 'passwd', 'pass', 'mysql_pwd', 'access_token', 'auth_token', 'api_key', 'apikey',
  'secret', 'credentials', 'stripetoken', 'token', 'private_key', 'access_key', 'authorization', 'bearer',
];

export const SCRUBBED = '********';

/** Values that name an authorization scheme: the secret is the word after them (`Bearer abc`). */
const AUTH_SCHEMES = new Set(['bearer', 'basic', 'digest', 'token', 'negotiate', 'ntlm', 'apikey']);

/** Separators between a key and its value inside one token (`k=v`, `k:v`, URL queries, option lists). */
const KEY_SEPARATORS = /[=:?&,;]/;

/** Quotes around a token of a shell string (`sh -c "… 'x'"`): kept around a masked value. */
const QUOTES = /^["'`]*|["'`]*$/g;

export class ArgvScrubber {
  /** The sensitive words, lower case, without '-' and '_': matched inside keys normalized the same way. */
  private readonly words: readonly string[];

  constructor(extraWords: readonly string[] = []) {
    const words = new Set<string>();
    for (const w of [...DEFAULT_SCRUB_WORDS, ...extraWords]) {
      const n = normalizeKey(w);
      if (n.length > 0) words.add(n);
    }
    this.words = [...words];
  }

  /** argv with every value that may be secret replaced by SCRUBBED; argv[0] is kept. */
  scrub(argv: readonly string[]): string[] {
    const out = argv.slice();
    const st: ScrubState = { pending: false, passwordFlag: passwordFlagOf(argv[0] ?? '') };
    for (let i = 1; i < out.length; i++) {
      const arg = out[i]!;
      // tokens at even indices, the whitespace between them at odd ones
      const parts = arg.split(/(\s+)/);
      for (let j = 0; j < parts.length; j += 2) {
        if (parts[j] !== '') parts[j] = this.token(parts[j]!, st);
      }
      out[i] = parts.join('');
    }
    return out;
  }

  /** Whether a normalized key contains a sensitive word. */
  private sensitive(key: string): boolean {
    if (key.includes('/')) return false; // a path or URL, not a key
    const k = normalizeKey(key);
    for (const w of this.words) if (k.includes(w)) return true;
    return false;
  }

  private token(tok: string, st: ScrubState): string {
    const bare = tok.replace(QUOTES, '');
    if (st.pending) {
      // `Authorization: Bearer abc`: the scheme is not the secret, the word after it is
      if (AUTH_SCHEMES.has(bare.toLowerCase())) return tok;
      st.pending = false;
      return maskKeepingQuotes(tok);
    }
    // a password-taking tool named inside a shell string or after a wrapper (sudo mysql -p …)
    if (/^[\w./+-]+$/.test(bare)) {
      const flag = passwordFlagOf(bare);
      if (flag !== '') st.passwordFlag = flag;
    }
    if (st.passwordFlag !== '') {
      const m = /^(["'`]*-)([A-Za-z])(.*)$/.exec(tok);
      if (m !== null && m[2] === st.passwordFlag) {
        if (m[3]!.replace(QUOTES, '') === '') {
          st.pending = true; // `-p value`
          return tok;
        }
        return m[1]! + m[2]! + maskKeepingQuotes(m[3]!); // `-pvalue`
      }
    }
    const t = maskUserinfo(tok);
    // key[=:]value[…]: the first sensitive key masks everything after its separator
    let at = 0;
    for (;;) {
      const rest = t.slice(at);
      const sep = rest.search(KEY_SEPARATORS);
      const key = sep < 0 ? rest : rest.slice(0, sep);
      if (this.sensitive(key)) {
        const value = sep < 0 ? '' : rest.slice(sep + 1);
        const bareValue = value.replace(QUOTES, '');
        if (bareValue === '' || AUTH_SCHEMES.has(bareValue.toLowerCase())) {
          st.pending = true; // `--password hunter2`, `key: value`, `Authorization:Bearer abc`
          return t;
        }
        return t.slice(0, at + sep + 1) + maskKeepingQuotes(value);
      }
      if (sep < 0) return t;
      at += sep + 1;
    }
  }
}

interface ScrubState {
  /** The next token is a value to mask. */
  pending: boolean;
  /** The short flag whose value is a password for the tool being run ('' none): mysql's -p. */
  passwordFlag: string;
}

/** Lower case, without '-' and '_': `API-Key`, `api_key` and `apikey` are one key. */
function normalizeKey(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

/** The short password flag of a tool by its name or path: `-p` for the MySQL/MariaDB clients and sshpass, `-a` for redis-cli. */
function passwordFlagOf(word: string): string {
  const base = word.slice(word.lastIndexOf('/') + 1).toLowerCase();
  if (base.startsWith('mysql') || base.startsWith('mariadb') || base === 'sshpass') return 'p';
  if (base === 'redis-cli') return 'a';
  return '';
}

/** SCRUBBED in place of a value, keeping the quotes that closed a shell string around it. */
function maskKeepingQuotes(value: string): string {
  const trail = /["'`]*$/.exec(value)![0];
  const lead = /^["'`]*/.exec(value)![0];
  return lead.length + trail.length >= value.length ? value : lead + SCRUBBED + trail;
}

/**
 * The password of `scheme://user:password@host` masked, wherever such a URL
 * is in the token. The userinfo ends at the last '@' of the token, not at the
 * first '/', '?' or '#': raw passwords hold those too (a port followed by a
 * path with an '@' is masked as well).
 */
function maskUserinfo(tok: string): string {
  let out = tok;
  for (let from = 0; ; ) {
    const s = out.indexOf('://', from);
    if (s < 0) return out;
    const start = s + 3;
    const at = out.lastIndexOf('@');
    const colon = out.indexOf(':', start);
    if (colon >= 0 && colon < at) out = out.slice(0, colon + 1) + SCRUBBED + out.slice(at);
    from = start;
  }
}

/** Environment entries as names only, except names allowed to keep their value. */
export function envNames(envp: readonly string[], withValue: ReadonlySet<string>): string[] {
  return envp.map((kv) => {
    const eq = kv.indexOf('=');
    const name = eq < 0 ? kv : kv.slice(0, eq);
    return withValue.has(name) ? kv : name;
  });
}
