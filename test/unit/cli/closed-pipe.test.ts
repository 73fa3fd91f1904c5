// `bhembed … | head`: when the reader of stdout goes away, the CLI exits 0 without a stack trace (it used to print
// "internal error (a bug…): write EPIPE" with a stack, or crash on an unhandled 'error' event).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, bhembed, criteoLines, tempDir } from '../../e2e/cli-helpers.js';

/** Run bhembed with stdout piped, read `keepBytes`, then close our end of the pipe; resolve with code and stderr. */
function runAndCloseEarly(args: string[], keepBytes = 1): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BHEMBED_DEBUG: '0' } });
    let stderr = '';
    let got = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    child.stdout.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= keepBytes) child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('generate | head: exit 0, nothing on stderr', async () => {
  const r = await runAndCloseEarly(['generate', '--rows', '2000000', '--no-prob', '-q', '--cardinalities', '100']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('predict | head: exit 0, nothing on stderr', async () => {
  const dir = tempDir('bhembed-pipe-');
  const data = join(dir, 'd.txt');
  writeFileSync(data, `${criteoLines(400, 1).join('\n')}\n`);
  const model = join(dir, 'm.bhm');
  const t = bhembed(['train', '--train', data, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q', '--out', model]);
  assert.equal(t.status, 0, t.stderr);
  // 40 copies of the file: far more output than one pipe buffer
  writeFileSync(join(dir, 'big.txt'), `${Array.from({ length: 40 }, () => criteoLines(400, 1).join('\n')).join('\n')}\n`);
  const r = await runAndCloseEarly(['predict', model, join(dir, 'big.txt'), '-q']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});
