// Small helpers shared by the command-line entries (run.ts, check.ts).

import { parseSelection, type Selection } from './runner.js';

/** Progress lines: stderr, so stdout holds only the table. */
export const log = (m: string): void => {
  process.stderr.write(`  ${m}\n`);
};

/** `--suite a --suite b,c/d` -> selections. */
export function selections(values: string[] | undefined): Selection[] {
  return (values ?? []).flatMap((v) => v.split(',')).filter(Boolean).map(parseSelection);
}

/** Runs an async main and exits with its code; an exception is exit code 2 with its message. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
