// forkline replay prints its summary before it writes --summary-json: an
// output file that cannot be written at the end loses nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { replay } from '../../src/cli/stream-commands.js';
import { OutputFileError } from '../../src/pipeline/output-file.js';
import { ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { syntheticBytes } from '../pipeline/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'forkline-replay-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay output', () => {
  it('the summary reaches stdout even when --summary-json cannot be written', async () => {
    const file = join(dir, 'a.fkl');
    const w = await ReplayWriter.create(file);
    await w.write(syntheticBytes({ seed: 2, events: 100 }));
    await w.close();
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const err = await replay({ file, shards: 1, json: true, summaryJson: join(dir, 'gone', 's.json') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputFileError);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(out.join('')).events.fork).toBeGreaterThan(0);
  });
});
