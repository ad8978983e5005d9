// Where the compiled entry of a worker thread is. Worker threads run
// JavaScript files: from dist/ this is the file of that name in its stage's
// folder; when this module itself is loaded from TypeScript sources
// (vitest), the compiled twin in dist/ is used (npm test builds first).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The entry `name` of src/<stage>/ (default: the shard worker's stage, workers/). */
export function workerEntry(name: string, stage = 'workers'): URL {
  const here = new URL(`../${stage}/${name}.js`, import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(here))) return here;
  const dist = new URL(`../../dist/${stage}/${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(dist))) {
    throw new Error(`forkline: ${fileURLToPath(dist)} is missing: run "npm run build" first`);
  }
  return dist;
}
