// `forkline synth` and `forkline replay`: write a synthetic stream to a
// recording, and apply a recording through the sharded pipeline.

import { OutputFile } from '../pipeline/output-file.js';
import { createPipeline, type PipelineOptions } from '../pipeline/pipeline.js';
import { firstBadRecord, ReplaySource, ReplayWriter } from '../pipeline/sources/replay.js';
import type { SyntheticOptions } from '../pipeline/sources/synthetic/options.js';
import { syntheticChunks } from '../pipeline/sources/synthetic/record-source.js';
import { formatSummary, type RunSummary } from '../pipeline/summary.js';
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

/** What a replay came to: its exit code, its summary (none when the file was refused), and the lines to tell the user. */
export interface ReplayOutcome {
  code: number;
  summary: RunSummary | undefined;
  messages: string[];
}

/**
 * Applies a recording through the pipeline and judges it (the work of
 * `forkline replay`, without the printing): exit 1 when the file or its
 * header is refused, a record cannot be framed or is cut short, or records
 * were refused as corrupt (unless allowCorrupt), each named by its offset.
 */
export async function applyRecording(o: ReplayOptions, onProgress?: PipelineOptions['onProgress']): Promise<ReplayOutcome> {
  const source = new ReplaySource(o.file);
  const messages: string[] = [];
  try {
    await source.check(); // a wrong file or header: no pipeline started
  } catch (err) {
    if (!(err instanceof ForklineError)) throw err;
    return { code: 1, summary: undefined, messages: [`${err.message} [${err.code}]`] };
  }
  const pipeline = createPipeline({
    source,
    shards: o.shards,
    capacity: o.capacity,
    exitedRetention: o.retentionMs !== undefined ? BigInt(Math.round(o.retentionMs * 1e6)) : undefined,
    onProgress,
  });
  pipeline.start();
  let code = 0;
  let summary: RunSummary;
  try {
    summary = await pipeline.done();
  } catch (err) {
    if (!(err instanceof ForklineError)) throw err;
    messages.push(err.message);
    code = 1;
    summary = await pipeline.stop();
  }
  const corrupt = await corruptRecords(o, summary.dropped.decodeErrors, pipeline.stats().shards.map((s) => s.counters));
  if (corrupt !== undefined) {
    messages.push(corrupt.message);
    if (!o.allowCorrupt) code = 1;
  }
  return { code, summary, messages };
}

export async function replay(o: ReplayOptions): Promise<number> {
  const bar = progressBar('replay');
  let outcome: ReplayOutcome;
  try {
    outcome = await applyRecording(o, (p) => bar.update(p.bytes, p.totalBytes, p.records));
  } finally {
    bar.stop();
  }
  for (const m of outcome.messages) process.stderr.write(`forkline replay: ${m}\n`);
  const summary = outcome.summary;
  if (summary) {
    const text = JSON.stringify(summary, null, 2);
    process.stdout.write(o.json ? text + '\n' : formatSummary(summary)); // first: a file that cannot be written loses nothing
    if (o.summaryJson) await OutputFile.write(o.summaryJson, text + '\n');
  }
  return outcome.code;
}

/**
 * Records refused as corrupt (decode errors, pids out of range, exits
 * before their fork), the first bad one named by its offset; undefined
 * when there were none.
 */
async function corruptRecords(
  o: ReplayOptions,
  decodeErrors: number,
  shards: readonly Record<WriterCounter, number>[],
): Promise<{ message: string } | undefined> {
  const sum = (name: WriterCounter) => shards.reduce((n, c) => n + c[name], 0);
  const badPid = sum('rejectedBadPid');
  const exitBeforeFork = sum('exitBeforeFork');
  if (decodeErrors + exitBeforeFork === 0) return undefined;
  const causes = [`${decodeErrors} malformed${badPid > 0 ? ` (${badPid} with a pid out of range)` : ''}`];
  if (exitBeforeFork > 0) causes.push(`${exitBeforeFork} exits earlier than their fork`);
  const first = decodeErrors > 0 ? await firstBadRecord(o.file) : undefined;
  const where = first ? `; the first at byte ${first.offset}: ${first.reason}` : '';
  const what = `${o.file}: records refused as corrupt: ${causes.join(', ')}${where}`;
  return {
    message: o.allowCorrupt ? `${what}; the rest was applied (--allow-corrupt)` : `${what}; every other record was applied (--allow-corrupt exits 0)`,
  };
}
