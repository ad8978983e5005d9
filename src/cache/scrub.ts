// Argument scrubbing and environment filtering: what may be shown of a
// process's argv and envp to people and logs.

export const DEFAULT_SCRUB_WORDS: readonly string[] = [
  'password', 'passwd', 'mysql_pwd', 'access_token', 'auth_token', 'api_key', 'apikey',
  'secret', 'credentials', 'stripetoken', 'token',
];

export const SCRUBBED = '********';

export class ArgvScrubber {
  /** A sensitive word followed by `=`/`:` (value in the same argument) or by spaces (next word). */
  private readonly inline: RegExp;
  /** An argument that ends with a sensitive word: the next argument is its value. */
  private readonly trailing: RegExp;

  constructor(extraWords: readonly string[] = []) {
    const words = [...DEFAULT_SCRUB_WORDS, ...extraWords.filter((w) => w.length > 0)]
      .map(escapeRegExp)
      .sort((a, b) => b.length - a.length);
    const alt = words.join('|');
    this.inline = new RegExp(`(${alt})(\\s*[=:]\\s*|\\s+)([^\\s]+)`, 'gi');
    this.trailing = new RegExp(`(${alt})\\s*$`, 'i');
  }

  scrub(argv: readonly string[]): string[] {
    const out = argv.slice();
    for (let i = 1; i < out.length; i++) {
      const arg = out[i]!;
      const scrubbed = arg.replace(this.inline, (_m, word: string, sep: string) => word + sep + SCRUBBED);
      out[i] = scrubbed;
      if (this.trailing.test(scrubbed) && i + 1 < out.length) {
        out[i + 1] = SCRUBBED;
        i++;
      }
    }
    return out;
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

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
