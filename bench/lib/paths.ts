// Where things are. This file runs compiled, from dist-bench/bench/lib/.

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The bench/ source folder: baseline, history and chart live here. */
export const BENCH_DIR = join(ROOT, 'bench');
/** Compiled suites. */
export const SUITES_DIR = fileURLToPath(new URL('../suites/', import.meta.url));

export const BASELINE_FILE = join(BENCH_DIR, 'baseline.json');
export const HISTORY_FILE = join(BENCH_DIR, 'history.json');
export const CHART_FILE = join(BENCH_DIR, 'chart.html');
