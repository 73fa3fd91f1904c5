// Temporary folders for tests, removed when the test process exits (pass or fail), so repeated `npm test` runs
// leave nothing behind in the system temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under the system temp folder, deleted at process exit. */
export function tempDir(prefix = 'bhembed-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
