import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputFile, OutputFileError } from '../../src/pipeline/output-file.js';
import { ReplayWriter } from '../../src/pipeline/sources/replay.js';

const dirOf = () => mkdtempSync(join(tmpdir(), 'forkline-out-'));

describe('OutputFile: every file the agent writes', () => {
  it('replaces an existing 0644 file with a new 0600 one (the old mode is not kept)', async () => {
    const dir = dirOf();
    const f = join(dir, 'dump.json');
    writeFileSync(f, 'old');
    chmodSync(f, 0o644);
    const before = statSync(f).ino;
    await OutputFile.write(f, 'secret argv');
    expect(readFileSync(f, 'utf8')).toBe('secret argv');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(f).ino).not.toBe(before); // a new file, renamed into place
    expect(readdirSync(dir)).toEqual(['dump.json']); // no temporary left
  });

  it('refuses a symbolic link planted at the target and leaves the file it points to alone', async () => {
    const dir = dirOf();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'root-owned content');
    const f = join(dir, 'out.json');
    symlinkSync(victim, f);
    const err = await OutputFile.write(f, 'attacker').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputFileError);
    expect((err as Error).message).toMatch(/out\.json: it is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('root-owned content');
    expect(readlinkSync(f)).toBe(victim);
    expect(readdirSync(dir).sort()).toEqual(['out.json', 'victim']);
  });

  it('a link planted after the check is replaced by the rename, never followed', async () => {
    const dir = dirOf();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    const f = join(dir, 'rec.fkl');
    const out = await OutputFile.create(f);
    symlinkSync(victim, f); // the race: planted while the file is written
    await out.write(Buffer.from('data'));
    await out.commit();
    expect(lstatSync(f).isSymbolicLink()).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('data');
    expect(readFileSync(victim, 'utf8')).toBe('keep');
  });

  it('names the missing directory, a directory at the target, and leaves nothing behind on abort', async () => {
    const dir = dirOf();
    await expect(OutputFile.write(join(dir, 'nope', 'x.json'), 'x')).rejects.toThrow(/cannot write .*x\.json: its directory .*nope does not exist/);
    await expect(OutputFile.write(dir, 'x')).rejects.toThrow(/not a regular file/);
    const out = await OutputFile.create(join(dir, 'a.json'));
    await out.write(Buffer.from('half'));
    await out.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a recording appears at its path, mode 0600, only once closed', async () => {
    const dir = dirOf();
    const f = join(dir, 'run.fkl');
    writeFileSync(f, 'previous');
    chmodSync(f, 0o644);
    const w = await ReplayWriter.create(f);
    expect(readFileSync(f, 'utf8')).toBe('previous');
    await w.write(new Uint8Array(8));
    await w.close();
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(f).size).toBe(32 + 8);
    expect(existsSync(f)).toBe(true);
  });
});
