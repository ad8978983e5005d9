// Runs shard-ring code in worker_threads from vitest.
//
// How to run a worker from a test (for the team): Node 20 cannot run a .ts
// file as a worker, and vitest's transform does not apply inside
// worker_threads. So a test worker is inline JavaScript (`new Worker(code,
// { eval: true })`) that imports the *compiled* module from dist/ by absolute
// file URL. `npm test` builds dist/ first (pretest); when running vitest by
// hand, run `npm run build` first. distModuleUrl() refuses a dist file older
// than its source, so a stale build fails loudly instead of testing old code.
// The main thread of the test imports src/ as usual; both sides share memory
// only through the SharedArrayBuffer, so the two copies of the class agree as
// long as they are built from the same source (which the check ensures).

import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** file: URL of dist/<rel>.js, checked to be at least as new as src/<rel>.ts. */
export function distModuleUrl(rel: string): string {
  const js = join(root, 'dist', `${rel}.js`);
  const ts = join(root, 'src', `${rel}.ts`);
  if (!existsSync(js)) throw new Error(`${js} is missing: run \`npm run build\` before these tests (npm test does it)`);
  if (statSync(js).mtimeMs < statSync(ts).mtimeMs) {
    throw new Error(`${js} is older than ${ts}: run \`npm run build\` before these tests (npm test does it)`);
  }
  return pathToFileURL(js).href;
}

/**
 * JavaScript shared by the worker bodies: the test record format.
 * record = [u16 type=1][u16 flags=0][u32 size][u32 seq][u32 checksum][payload]
 * size = recordSize(seq, maxSize); payload byte i = (seq * 31 + i * 7) & 0xff;
 * checksum = FNV-1a over seq's 4 bytes and the payload. The main-thread
 * validator is checkRecord() in ring.test.ts.
 */
const RECORD_JS = String.raw`
function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
function recordSize(seq, maxSize) {
  const r = mix32(seq);
  // Mostly small records, sometimes up to maxSize.
  const span = (r & 7) === 0 ? maxSize : 96;
  return 16 + 8 * ((r >>> 3) % ((span - 16) / 8 + 1));
}
function fillRecord(u8, off, seq, size) {
  const dv = new DataView(u8.buffer, u8.byteOffset + off, size);
  dv.setUint16(0, 1, true);
  dv.setUint16(2, 0, true);
  dv.setUint32(4, size, true);
  dv.setUint32(8, seq, true);
  let h = 0x811c9dc5;
  h = Math.imul(h ^ (seq & 0xff), 0x01000193);
  h = Math.imul(h ^ ((seq >>> 8) & 0xff), 0x01000193);
  h = Math.imul(h ^ ((seq >>> 16) & 0xff), 0x01000193);
  h = Math.imul(h ^ (seq >>> 24), 0x01000193);
  for (let i = 0; i < size - 16; i++) {
    const b = (seq * 31 + i * 7) & 0xff;
    u8[off + 16 + i] = b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  dv.setUint32(12, h >>> 0, true);
}
`;

export interface RingWorker<T> {
  readonly worker: Worker;
  /** Resolves when the body calls ready(). */
  readonly ready: Promise<void>;
  /** The body's return value. */
  readonly result: Promise<T>;
}

/**
 * Starts a worker running `body`, the text of an async JS function body with
 * these in scope: `ring` (the dist module's exports: ShardRing, RingWord, …),
 * `workerData`, `ready()` (tells the test the worker is set up), `threadCpuMs()`
 * (this thread's CPU time from /proc/thread-self/stat, 10 ms ticks), `nowMs()`
 * (an absolute time in ms comparable across threads), and the test record
 * helpers recordSize(seq, maxSize) and fillRecord(u8, off, seq, size).
 */
export function startRingWorker<T>(body: string, workerData: unknown): RingWorker<T> {
  const url = distModuleUrl('ring/shard-ring');
  const code = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
function ready() { parentPort.postMessage({ kind: 'ready' }); }
function nowMs() { return performance.timeOrigin + performance.now(); }
function threadCpuMs() {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, USER_HZ = 100
}
${RECORD_JS}
import(${JSON.stringify(url)})
  .then(async (ring) => {
    const value = await (async () => {
${body}
    })();
    parentPort.postMessage({ kind: 'result', value });
  })
  .catch((e) => parentPort.postMessage({ kind: 'error', message: String((e && e.stack) || e) }));
`;
  const worker = new Worker(code, { eval: true, workerData });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<T>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { kind: string; value?: T; message?: string }) => {
      if (m.kind === 'ready') onReady();
      else if (m.kind === 'result') {
        settled = true;
        resolve(m.value as T);
      } else if (m.kind === 'error') {
        settled = true;
        reject(new Error(`ring worker failed: ${m.message}`));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`ring worker exited with code ${code} before returning`));
    });
  });
  // A failing body must not leave ready() pending forever.
  result.catch(() => onReady());
  return { worker, ready, result };
}
