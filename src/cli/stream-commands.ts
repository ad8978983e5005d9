// `forkline synth` and `forkline replay`: write a synthetic stream to a
// recording, and apply a recording through the sharded pipeline.

import { OutputFile } from '../pipeline/output-file.js';
import { createPipeline } from '../pipeline/pipeline.js';
import { firstBadRecord, ReplaySource, ReplayWriter } from '../pipeline/sources/replay.js';
import type { SyntheticOptions } from '../pipeline/sources/synthetic/options.js';
import { syntheticChunks } from '../pipeline/sources/synthetic/record-source.js';
import { formatSummary } from '../pipeline/summary.js';
import type { WriterCounter } from '../cache/counters.js';
import { ForklineError } from '../errors.js';
import { progressBar } from './progress.js';

export interface SynthOptions {
  events: number;
  seed: number;
  out: string;
  lostRate?: number;
  reorderRate?: number;
  envs?: boolean;
}

export async function synth(o: SynthOptions): Promise<number> {
  const writer = await ReplayWriter.create(o.out);
  const bar = progressBar('synth');
  const options: SyntheticOptions = { seed: o.seed, events: o.events, lostRate: o.lostRate, reorderRate: o.reorderRate, envs: o.envs };
  let n = 0;
  try {
    for (const chunk of syntheticChunks(options)) {
      await writer.write(chunk.bytes);
      n += chunk.bytes.length;
      bar.update(chunk.streamOffset + chunk.bytes.length, undefined, 0);
    }
  } catch (err) {
    bar.stop();
    await writer.abort(); // no half recording at --out
    throw err;
  }
  bar.stop();
  await writer.close();
  process.stderr.write(`forkline synth: ${o.events} events (seed ${o.seed}) written to ${o.out} (${n} bytes of records)\n`);
  return 0;
}

export interface ReplayOptions {
  file: string;
  shards?: number;
  capacity?: number;
  json?: boolean;
  summaryJson?: string;
  retentionMs?: number;
  /** Apply what is sound and exit 0 even when records were refused as corrupt. */
  allowCorrupt?: boolean;
}

export async function replay(o: ReplayOptions): Promise<number> {
  const source = new ReplaySource(o.file);
  await source.check(); // a wrong file or header: its message (main.ts prints it), no pipeline started
  const bar = progressBar('replay');
  const pipeline = createPipeline({
    source,
    shards: o.shards,
    capacity: o.capacity,
    exitedRetention: o.retentionMs !== undefined ? BigInt(Math.round(o.retentionMs * 1e6)) : undefined,
    onProgress: (p) => bar.update(p.bytes, p.totalBytes, p.records),
  });
  pipeline.start();
  let code = 0;
  let summary;
  try {
    summary = await pipeline.done();
  } catch (err) {
    bar.stop();
    if (!(err instanceof ForklineError)) throw err;
    process.stderr.write(`forkline replay: ${err.message}\n`);
    code = 1;
    summary = await pipeline.stop();
  }
  bar.stop();
  const text = JSON.stringify(summary, null, 2);
  if (o.summaryJson) await OutputFile.write(o.summaryJson, text + '\n');
  process.stdout.write(o.json ? text + '\n' : formatSummary(summary));
  if (code === 0) code = await reportCorrupt(o, summary.dropped.decodeErrors, pipeline.stats().shards.map((s) => s.counters));
  return code;
}

/**
 * Records refused as corrupt (decode errors, pids out of range, exits
 * before their fork): named with the first bad offset; exit 1 unless
 * --allow-corrupt.
 */
async function reportCorrupt(o: ReplayOptions, decodeErrors: number, shards: readonly Record<WriterCounter, number>[]): Promise<number> {
  const sum = (name: WriterCounter) => shards.reduce((n, c) => n + c[name], 0);
  const badPid = sum('rejectedBadPid');
  const exitBeforeFork = sum('exitBeforeFork');
  if (decodeErrors + exitBeforeFork === 0) return 0;
  const causes = [`${decodeErrors} malformed${badPid > 0 ? ` (${badPid} with a pid out of range)` : ''}`];
  if (exitBeforeFork > 0) causes.push(`${exitBeforeFork} exits earlier than their fork`);
  const first = decodeErrors > 0 ? await firstBadRecord(o.file) : undefined;
  const where = first ? `; the first at byte ${first.offset}: ${first.reason}` : '';
  const what = `forkline replay: ${o.file}: records refused as corrupt: ${causes.join(', ')}${where}`;
  if (o.allowCorrupt) {
    process.stderr.write(`${what}; the rest was applied (--allow-corrupt)\n`);
    return 0;
  }
  process.stderr.write(`${what}; every other record was applied (--allow-corrupt exits 0)\n`);
  return 1;
}
