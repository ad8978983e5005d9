// Progress for long commands: a bar on a terminal (cli-progress), nothing
// otherwise (logs get the final summary).

import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update(done: number, total: number | undefined, records: number): void;
  stop(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {records} events | {rate}/s`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  const t0 = performance.now();
  return {
    update(done, total, records) {
      const rate = Math.round(records / Math.max(0.001, (performance.now() - t0) / 1000));
      if (!started) {
        bar.start(total ?? 0, 0, { records, rate });
        started = true;
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(done, { records, rate });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
