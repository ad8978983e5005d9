// Recordings carry the record format version (docs/record-format.md,
// "Versions"): one made before the FORK/EXEC layout changed is refused with a
// clear ERR_REPLAY_HEADER, not misread.

import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ForklineError } from '../../src/errors.js';
import { MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { encodeEvent } from '../../src/record/encode.js';
import { RECORD_FORMAT_VERSION, ReplaySource, ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { rejectionOf, tempDir } from './helpers.js';

const tmp = tempDir('forkline-replay-version-');
afterAll(() => tmp.remove());

async function recording(name: string): Promise<string> {
  const file = tmp.file(name);
  const w = await ReplayWriter.create(file);
  const buf = new Uint8Array(MAX_RECORD_SIZE);
  const n = encodeEvent({
    type: 'fork', time: 1n, cpu: 0, pid: 2, ppid: 1, pidns: 0, execTime: 0n, inode: 3, path: '/bin/sh',
    pidnsInode: 4026531836, nsPid: 2, mountId: 21, cgroupId: 9n,
  }, buf, 0);
  await w.write(buf, 0, n);
  await w.close();
  return file;
}

async function readAll(file: string): Promise<number> {
  let bytes = 0;
  for await (const c of new ReplaySource(file).chunks()) bytes += c.bytes.length;
  return bytes;
}

describe('replay record format version', () => {
  it('is 2 since FORK and EXEC carry the namespace fields, and a recording of this version reads back', async () => {
    expect(RECORD_FORMAT_VERSION).toBe(2);
    expect(await readAll(await recording('now.rec'))).toBeGreaterThan(0);
  });

  it('a recording of record format 1 (before the namespace fields) fails with ERR_REPLAY_HEADER saying to record it again', async () => {
    const file = await recording('old.rec');
    const raw = readFileSync(file);
    raw.writeUInt32LE(1, 24); // the record format version word of the header
    writeFileSync(file, raw);
    const err = await rejectionOf(readAll(file));
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_REPLAY_HEADER');
    expect(err.message).toMatch(/records 1\).*older format 1 .*format 2.*record it again/);
    expect(err.offset).toBe(24);
  });
});
