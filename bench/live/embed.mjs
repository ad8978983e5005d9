// The embedder's view of freshness (bench:live, docs/benchmarks.md): a
// program that embeds CaptureSource + createPipeline spawns N children one
// at a time and polls pipeline.reader().resolve(child.pid) until the
// child's exec shows; prints, as JSON, how long after spawn() returned that
// took (p50, p99, max; ms). spawn() returns once the child has exec'd.
// Usage: node bench/live/embed.mjs [children] [--max-latency-ms N]

import { spawn } from 'node:child_process';
import { createPipeline } from '../../dist/pipeline/pipeline.js';
import { CaptureSource } from '../../dist/pipeline/sources/capture.js';

const children = Number(process.argv[2] ?? 100);
const i = process.argv.indexOf('--max-latency-ms');
const maxLatencyMs = i > 0 ? Number(process.argv[i + 1]) : undefined;

const source = new CaptureSource({ kind: 'bpf', snapshot: true, maxLatencyMs });
source.start();
const pipeline = createPipeline({ source, shards: 2, maxLatencyMs });
pipeline.start();
const view = pipeline.reader();
await new Promise((r) => setTimeout(r, 1000));

const waits = [];
for (let n = 0; n < children; n++) {
  const child = spawn('/bin/sleep', ['0.2'], { stdio: 'ignore' });
  const t0 = performance.now(); // spawn() returns once the child has exec'd (libuv)
  const deadline = t0 + 2000;
  for (;;) {
    const e = view.resolve(child.pid);
    if (e && e.path.endsWith('/sleep')) break;
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 0));
  }
  waits.push(performance.now() - t0);
  await new Promise((r) => child.once('exit', r));
}
source.stop();
await pipeline.stop();
waits.sort((a, b) => a - b);
const q = (p) => Math.round(waits[Math.min(waits.length - 1, Math.floor(p * waits.length))] * 100) / 100;
process.stdout.write(JSON.stringify({ children, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1) }) + '\n');
