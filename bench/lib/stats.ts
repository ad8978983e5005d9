// Order statistics of batch samples. Medians and MADs rather than means and
// standard deviations: on a shared machine a batch is sometimes descheduled
// or hit by a major GC, and one such batch must not move the figure.

/** Sorted copy, ascending. */
export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Linear-interpolated quantile of ascending-sorted samples, q in [0, 1]. */
export function quantile(asc: readonly number[], q: number): number {
  if (asc.length === 0) return Number.NaN;
  const pos = (asc.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return asc[lo]! + (asc[hi]! - asc[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(sorted(xs), 0.5);
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? Number.NaN : s / xs.length;
}

/** Median absolute deviation (unscaled). */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/** Two-sided 95% Student t critical values for df = 1..30; 1.96 beyond. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Relative margin of error of the mean, in percent (95% confidence), as tinybench reports it. */
export function rmePercent(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let v = 0;
  for (const x of xs) v += (x - m) ** 2;
  const sem = Math.sqrt(v / (n - 1) / n);
  const t = T95[n - 2] ?? 1.96;
  return (100 * t * sem) / Math.abs(m);
}

/** MAD scaled to estimate a standard deviation under normal noise. */
export const MAD_TO_SD = 1.4826;
/** Asymptotic standard error of a median relative to sd/sqrt(n) (sqrt(pi/2)). */
export const MEDIAN_SE_FACTOR = 1.2533;

export interface RatioStats {
  /** Median of the per-round ratios. */
  median: number;
  /** Robust relative spread of one round's ratio: 1.4826 * MAD / median. */
  relSpread: number;
  /** Relative standard error of the median: 1.2533 * relSpread / sqrt(rounds). */
  relStdErr: number;
  p10: number;
  p90: number;
}

/** Statistics of paired ratios (one per ABAB round). */
export function ratioStats(ratios: readonly number[]): RatioStats {
  const asc = sorted(ratios);
  const med = quantile(asc, 0.5);
  const spread = med > 0 ? (MAD_TO_SD * mad(asc)) / med : Number.NaN;
  return {
    median: med,
    relSpread: spread,
    relStdErr: (MEDIAN_SE_FACTOR * spread) / Math.sqrt(Math.max(1, asc.length)),
    p10: quantile(asc, 0.1),
    p90: quantile(asc, 0.9),
  };
}
