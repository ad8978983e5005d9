// The replay source against damaged or wrong files (issue 14, items 3 and 5):
// every header field is checked against the file, and a file that is not a
// regular one is refused before anything reads it (a FIFO would block).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ForklineError } from '../../src/errors.js';
import { REPLAY_HEADER_BYTES, ReplaySource, ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { rejectionOf, syntheticBytes, tempDir } from './helpers.js';

const tmp = tempDir('forkline-replay-file-');
afterAll(() => tmp.remove());

const records = syntheticBytes({ seed: 3, events: 6000 });

async function recording(name: string): Promise<string> {
  const file = tmp.file(name);
  const w = await ReplayWriter.create(file);
  await w.write(records);
  await w.close();
  return file;
}

async function readAll(file: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of new ReplaySource(file).chunks()) parts.push(c.bytes.slice()); // a chunk is valid until the next
  return Buffer.concat(parts);
}

async function damaged(name: string, damage: (raw: Buffer) => void): Promise<ForklineError> {
  const file = await recording(name);
  const raw = readFileSync(file);
  damage(raw);
  writeFileSync(file, raw);
  const err = await rejectionOf(readAll(file));
  expect(err).toBeInstanceOf(ForklineError);
  return err as ForklineError;
}

describe('replay header', () => {
  it('a whole recording reads back byte for byte, across chunks of the one reused buffer', async () => {
    expect(records.length).toBeGreaterThan(1 << 20); // more than one chunk
    const file = await recording('ok.fkl');
    expect(Buffer.compare(await readAll(file), records)).toBe(0);
    const buffers = new Set<ArrayBufferLike>();
    for await (const c of new ReplaySource(file).chunks()) buffers.add(c.bytes.buffer);
    expect(buffers.size).toBe(1); // no buffer allocated per chunk
  });

  it('headerBytes (bytes 12..15) set to 0xffffffff is refused naming the field, not read as an empty stream', async () => {
    const err = await damaged('hb.fkl', (raw) => raw.writeUInt32LE(0xffffffff, 12));
    expect(err.code).toBe('ERR_REPLAY_HEADER');
    expect(err.message).toMatch(/corrupt header: field headerBytes \(bytes 12\.\.15\) is 4294967295, a version 1 header is 32 bytes/);
    expect(err.offset).toBe(12);
    const small = await damaged('hb8.fkl', (raw) => raw.writeUInt32LE(8, 12));
    expect(small.offset).toBe(12);
  });

  it('createdMs and the reserved word are checked: zero, past 2^53, after the file was written, non-zero reserved', async () => {
    const zero = await damaged('c0.fkl', (raw) => raw.writeBigUInt64LE(0n, 16));
    expect([zero.offset, zero.message]).toEqual([16, expect.stringMatching(/field createdMs \(bytes 16\.\.23\) is 0/)]);
    const huge = await damaged('cmax.fkl', (raw) => raw.writeBigUInt64LE(0xffffffffffffffffn, 16));
    expect(huge.offset).toBe(16);
    const future = await damaged('cfut.fkl', (raw) => raw.writeBigUInt64LE(BigInt(Date.now() + 10 * 86_400_000), 16));
    expect(future.message).toMatch(/createdMs .* over a day after the file was last written/);
    const reserved = await damaged('r.fkl', (raw) => raw.writeUInt32LE(1, 28));
    expect([reserved.offset, reserved.message]).toEqual([28, expect.stringMatching(/field reserved \(bytes 28\.\.31\) is 1, not 0/)]);
  });

  it('a recording copied later (file newer than its header) still reads', async () => {
    const file = await recording('old.fkl');
    const raw = readFileSync(file);
    raw.writeBigUInt64LE(BigInt(Date.now() - 30 * 86_400_000), 16);
    writeFileSync(file, raw);
    expect((await readAll(file)).length).toBe(records.length);
  });

  it('a file shorter than the header says so', async () => {
    const file = tmp.file('short.fkl');
    writeFileSync(file, 'FORKLINE');
    const err = await rejectionOf(readAll(file));
    expect([err.code, err.offset, err.message]).toEqual(['ERR_REPLAY_HEADER', 0, expect.stringMatching(/not a forkline recording .*8 bytes, shorter than the 32-byte header/)]);
  });
});

describe('replay file', () => {
  it('a missing file, a directory and a FIFO without a writer are refused with ERR_REPLAY_FILE, without blocking', async () => {
    const missing = await rejectionOf(readAll(tmp.file('nope.fkl')));
    expect([missing.code, missing.message]).toEqual(['ERR_REPLAY_FILE', expect.stringMatching(/cannot read .*nope\.fkl: no such file/)]);
    const dir = tmp.file('adir');
    mkdirSync(dir);
    const d = await rejectionOf(readAll(dir));
    expect([d.code, d.message]).toEqual(['ERR_REPLAY_FILE', expect.stringMatching(/it is a directory/)]);
    const fifo = tmp.file('fifo');
    execFileSync('mkfifo', [fifo]);
    const f = await rejectionOf(readAll(fifo));
    expect([f.code, f.message]).toEqual(['ERR_REPLAY_FILE', expect.stringMatching(/it is a FIFO/)]);
  }, 10_000);

  it('REPLAY_HEADER_BYTES is what the writer puts in headerBytes', async () => {
    const raw = readFileSync(await recording('hdr.fkl'));
    expect(raw.readUInt32LE(12)).toBe(REPLAY_HEADER_BYTES);
  });
});
