// Where the compiled worker entry is. Worker threads run JavaScript files:
// from dist/ this is a sibling; when the pipeline module itself is loaded
// from TypeScript sources (vitest), the compiled twin in dist/ is used
// (npm test builds first).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workerEntry(name: string): URL {
  const here = new URL(`./${name}.js`, import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(here))) return here;
  const dist = new URL(`../../dist/workers/${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(dist))) {
    throw new Error(`forkline: ${fileURLToPath(dist)} is missing: run "npm run build" first`);
  }
  return dist;
}
