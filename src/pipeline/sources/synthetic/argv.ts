// Command lines of the simulated churn: argv for an exec of a binary, built
// from a pool of compiler-command-line-like arguments drawn once per stream.

import { ARG_DIRS, ARG_EXTS, ARG_FLAGS, ARG_NAMES } from './catalogue.js';
import type { Binary } from './model.js';
import type { SyntheticArgv } from './options.js';
import type { Sfc32 } from './prng.js';

export class ArgvMaker {
  private readonly pool: string[] = [];

  /** Draws the pool of arguments (512 of them) from `rng`. */
  constructor(
    private readonly rng: Sfc32,
    private readonly shape: SyntheticArgv,
  ) {
    for (let i = 0; i < 512; i++) this.pool.push(this.makeArg());
  }

  /** An argv for an exec of `bin`: argv[0] (or the interpreter and the script), then arguments of the pool. */
  argv(bin: Binary): readonly string[] {
    const a = this.shape;
    const rng = this.rng;
    let argc = a.minArgs + rng.int(a.maxArgs - a.minArgs + 1);
    const argv: string[] = [];
    if (bin.interpreter !== '') {
      // The kernel's shebang handling: interpreter, script path, arguments.
      argv.push(bin.interpreter, bin.path);
      argc = Math.max(argc, 2);
    } else {
      argv.push(rng.float() < 0.5 ? bin.path : bin.comm);
    }
    while (argv.length < argc) argv.push(this.pool[rng.int(this.pool.length)]!);
    return Object.freeze(argv);
  }

  /**
   * One argument, compiler-command-line style: a flag, a define, or a source
   * or object path whose length is spread up to maxArgLength (cut there).
   */
  private makeArg(): string {
    const rng = this.rng;
    const max = this.shape.maxArgLength;
    const pick = (xs: readonly string[]) => xs[rng.int(xs.length)]!;
    let s: string;
    const k = rng.float();
    if (k < 0.4) s = pick(ARG_FLAGS);
    else if (k < 0.5) s = `-D${pick(ARG_NAMES).toUpperCase()}_${rng.int(100)}=1`;
    else if (k < 0.51) s = `--token=${rng.u32().toString(16)}`;
    else {
      const target = 1 + rng.int(max);
      s = (k < 0.6 ? '-I' : '') + pick(ARG_DIRS);
      while (s.length + 14 < target) s += `/${pick(ARG_DIRS)}`;
      if (k >= 0.6) s += `/${pick(ARG_NAMES)}${pick(ARG_EXTS)}`;
    }
    return s.length > max ? s.slice(0, max) : s;
  }
}
