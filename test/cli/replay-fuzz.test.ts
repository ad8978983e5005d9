// Fuzz (issue 14): recordings made with the project's own encoders (the
// synthetic source), damaged by fast-check, replayed in-process through
// `forkline replay`'s own judgement (applyRecording). The invariant: bytes
// that are not a well-formed recording end in exit 1 with a message naming
// the first bad offset; a well-formed one (a mutation can make another valid
// record) ends in exit 0 or in a counted refusal. Never a silent success on
// corrupted bytes, never a hang (each replay has a deadline).

import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRecording, type ReplayOutcome } from '../../src/cli/stream-commands.js';
import { ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { validateRecord } from '../../src/record/decode.js';
import { syntheticBytes } from '../pipeline/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'forkline-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = 32;
// bounded for the suite; FORKLINE_FUZZ_RUNS and FORKLINE_FUZZ_SEED search further by hand
const RUNS = Number(process.env.FORKLINE_FUZZ_RUNS ?? 30);
const SEED = Number(process.env.FORKLINE_FUZZ_SEED ?? 14);
const DEADLINE_MS = 15_000;

let original: Buffer;
async function recording(): Promise<Buffer> {
  if (original) return original;
  const file = join(dir, 'original.fkl');
  const w = await ReplayWriter.create(file);
  await w.write(syntheticBytes({ seed: 11, events: 400, lostRate: 0.01, envs: true }));
  await w.close();
  original = readFileSync(file);
  return original;
}

/**
 * The oracle, written from the format's rules (docs/record-format.md), not
 * from the code under test: the offset of the first record that is not
 * well-formed (validateRecord, or a FORK/EXEC pid over 4194304), or of a
 * record cut by the end of the file; undefined for a well-formed stream.
 */
function firstBad(raw: Buffer): number | undefined {
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
  for (let off = HEADER; off < raw.length; ) {
    if (validateRecord(bytes, off, raw.length - off) !== undefined) return off;
    const type = raw.readUInt16LE(off);
    if ((type === 1 || type === 2) && (raw.readUInt32LE(off + 40) > 4194304 || (type === 1 && raw.readUInt32LE(off + 44) > 4194304))) return off;
    off += raw.readUInt32LE(off + 4);
  }
  return undefined;
}

async function replayWithin(file: string): Promise<ReplayOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`replay of ${file} did not end within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([applyRecording({ file, shards: 1 }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A damage: bytes overwritten (some with telling values), or the file cut short. */
const damageArb = fc.oneof(
  fc.record({
    kind: fc.constant('bytes' as const),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('word' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 0xffffffff, 0x80000000, 4194305, 7, 8, 40, 147456, 147464),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

type Damage = typeof damageArb extends fc.Arbitrary<infer T> ? T : never;

function damage(base: Buffer, d: Damage): Buffer {
  const raw = Buffer.from(base);
  const span = raw.length - HEADER;
  switch (d.kind) {
    case 'bytes':
      for (const [at, v] of d.edits) raw[HEADER + (at % span)] = v;
      return raw;
    case 'word':
      raw.writeUInt32LE(d.value >>> 0, HEADER + ((d.at % (span - 4)) & ~3));
      return raw;
    case 'cut':
      return raw.subarray(0, HEADER + (d.at % span));
  }
}

let n = 0;
describe('replay of damaged recordings (fast-check)', () => {
  it('a clear error naming the first bad offset, or a counted refusal; never a silent success on corrupted bytes, never a hang', async () => {
    const base = await recording();
    let damaged = 0;
    await fc.assert(
      fc.asyncProperty(damageArb, async (d) => {
        const raw = damage(base, d);
        const file = join(dir, `m${n++}.fkl`);
        writeFileSync(file, raw);
        const bad = firstBad(raw);
        const out = await replayWithin(file);
        const said = out.messages.join('\n');
        if (bad !== undefined) {
          damaged++;
          expect(out.code, said).toBe(1);
          expect(said).toMatch(new RegExp(`\\bbyte ${bad}\\b`));
        } else if (out.code !== 0) {
          // well-formed, yet refused: only for what the applier counts (e.g. an exit moved before its fork)
          expect(said).toMatch(/records refused as corrupt/);
        }
        rmSync(file);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(damaged).toBeGreaterThan(RUNS / 3); // the damages mostly break records: the first branch is exercised
  }, 300_000);

  it('the header: any change of its fixed fields is refused naming the field, whatever the value', async () => {
    const base = await recording();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 3, 7, 8, 11, 12, 13, 15, 24, 27, 28, 31), fc.integer({ min: 0, max: 255 }), async (at, v) => {
        fc.pre(base[at] !== v);
        const raw = Buffer.from(base);
        raw[at] = v;
        const file = join(dir, `h${n++}.fkl`);
        writeFileSync(file, raw);
        const out = await replayWithin(file);
        expect(out.code).toBe(1);
        expect(out.summary).toBeUndefined(); // refused before anything was applied
        expect(out.messages.join('\n')).toMatch(/ERR_REPLAY_HEADER/);
        rmSync(file);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
