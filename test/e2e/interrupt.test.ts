// Ctrl-C (SIGINT) and kill (SIGTERM) mid-command: no temp or half-written file is left, stderr says what was removed
// and what was kept, and the exit code is 130 / 143. Each child waits on stdin or writes a large file, so the signal
// lands while it is working; every child is killed by its pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, bhembed, criteoLines, tempDir } from './cli-helpers.js';

const dir = tempDir('bhembed-interrupt-');
const lines = criteoLines(200, 3);
const train = join(dir, 'train.tsv');
writeFileSync(train, `${lines.join('\n')}\n`);
const model = join(dir, 'm.bhm');
const trained = bhembed(['train', '--train', train, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--out', model, '-q']);

interface Ended {
  code: number | null;
  stderr: string;
}

/** Start the CLI; `ready(stderr)` decides when to send the signal; resolves with its exit. */
function interrupt(args: string[], signal: 'SIGINT' | 'SIGTERM', ready: (stderr: string) => boolean, stdin?: string): Promise<Ended> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, BHEMBED_DEBUG: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (stdin !== undefined) child.stdin.write(stdin); // and keep stdin open: the command waits for more rows
  const timer = setInterval(() => {
    if (ready(stderr)) {
      clearInterval(timer);
      process.kill(child.pid as number, signal);
    }
  }, 20);
  const guard = setTimeout(() => process.kill(child.pid as number, 'SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve({ code, stderr });
    }),
  );
}

const tempFiles = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

test('SIGINT during predict -o: the temp file is removed, the message says so, exit 130', async () => {
  assert.equal(trained.status, 0, trained.stderr);
  const out = join(dir, 'p.csv');
  const r = await interrupt(['predict', model, '-', '-o', out, '-q'], 'SIGINT', () => tempFiles().length > 0, `${lines.slice(0, 5).join('\n')}\n`);
  assert.equal(r.code, 130, r.stderr);
  assert.deepEqual(tempFiles(), []);
  assert.equal(existsSync(out), false, 'no partial predictions');
  assert.match(r.stderr, new RegExp(`^bhembed: interrupted \\(SIGINT\\): removed the unfinished ${out.replace(/[.]/g, '\\.')} \\(temporary .*\\.tmp\\)\\nbhembed: nothing was written\\n$`));
});

test('SIGTERM during generate: the half-written output is removed, exit 143', async () => {
  const out = join(dir, 'big.txt');
  const r = await interrupt(['generate', '--rows', '50000000', '--out', out, '--seed', '1'], 'SIGTERM', () => existsSync(out) && statSync(out).size > 0);
  assert.equal(r.code, 143, r.stderr);
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(`${out}.prob`), false);
  assert.match(r.stderr, /bhembed: interrupted \(SIGTERM\): removed the unfinished .*big\.txt \(incomplete generated data\), .*big\.txt\.prob \(incomplete generated data\)\n/);
});

test('SIGINT while train loads its data: says nothing was written, exit 130', async () => {
  const args = ['train', '--train', '-', '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--out', join(dir, 'x.bhm')];
  const r = await interrupt(args, 'SIGINT', (err) => err.includes('reading -'), `${lines[0]}\n`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^reading -\nbhembed: interrupted \(SIGINT\)\nbhembed: nothing was written\n$/);
  assert.equal(existsSync(join(dir, 'x.bhm')), false);
});

test('SIGINT during a long training run is answered at once (steps let signal handlers in), exit 130', async () => {
  const args = ['train', '--train', train, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--epochs', '100000', '--batch-size', '8', '--out', join(dir, 'long.bhm')];
  const r = await interrupt(args, 'SIGINT', (err) => err.includes('epoch 2/100000'));
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /bhembed: interrupted \(SIGINT\)\nbhembed: nothing was written\n$/);
  assert.equal(existsSync(join(dir, 'long.bhm')), false);
  assert.deepEqual(tempFiles(), []);
});
