// Test-only hooks, read once at load from the environment, so that a test
// can prove the benchmark gate catches a slower apply. Zero cost when unset
// (a constant the JIT folds away).

const delay = Number(process.env.FORKLINE_TEST_APPLY_DELAY ?? 0);

/** Iterations of busy work added to every fork and exec apply (FORKLINE_TEST_APPLY_DELAY). */
export const APPLY_DELAY_ITERATIONS = Number.isInteger(delay) && delay > 0 ? delay : 0;

let sink = 0;
/** Burns APPLY_DELAY_ITERATIONS iterations; the result is kept so the loop is not removed. */
export function applyDelay(): void {
  let x = sink;
  for (let i = 0; i < APPLY_DELAY_ITERATIONS; i++) x = (x * 31 + i) | 0;
  sink = x;
}
