// Checkpoints and resume (issue 10 item 6): a real `bhembed train` process with --checkpoint-dir is killed with
// SIGKILL after its 1st and its 4th checkpoint appear (of 16); `train --resume` then finishes the run, and its predictions
// equal an uninterrupted run's byte for byte (1 thread), with the data held in memory and streamed through a
// shuffle buffer (with validation every 3000 rows and early stopping, so their state is in the checkpoint too).
// Damaged, foreign and mismatching checkpoints are refused with one line naming the file and the reason (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';

const dir = tempDir('bhembed-resume-');
const train = join(dir, 'train.txt');
const valid = join(dir, 'valid.txt');
const testFile = join(dir, 'test.txt');
let ready: Promise<void> | null = null;

/** 12k training rows of planted Criteo-format data, 1k validation and 3k test rows, cut from one generated file. */
function data(): Promise<void> {
  ready ??= (async () => {
    const all = join(dir, 'all.txt');
    const g = await bhembedInProcess(['generate', '--rows', '16000', '--out', all, '--no-prob', '--cardinalities', 'kaggle/1000', '--seed', '3', '-q']);
    assert.equal(g.status, 0, g.stderr);
    const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
    writeFileSync(train, `${lines.slice(0, 12000).join('\n')}\n`);
    writeFileSync(valid, `${lines.slice(12000, 13000).join('\n')}\n`);
    writeFileSync(testFile, `${lines.slice(13000).join('\n')}\n`);
  })();
  return ready;
}

function trainArgs(mode: 'memory' | 'stream'): string[] {
  const common = ['--train', train, '--test', testFile, '--format', 'criteo', '--embedding', 'bh', '--block-bits', '6', '--dim', '8', '--mlp', '32', '--batch-size', '256', '--optimizer', 'adam', '--threads', '1', '-q'];
  if (mode === 'memory') return [...common, '--data-mode', 'memory', '--epochs', '2'];
  return [...common, '--data-mode', 'stream', '--shuffle-buffer', '3000', '--epochs', '2', '--valid', valid, '--eval-every', '3000', '--patience', '2'];
}

async function predictions(model: string): Promise<Buffer> {
  const out = `${model}.csv`;
  const r = await bhembedInProcess(['predict', model, testFile, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out);
}

function checkpointRows(ck: string): number[] {
  try {
    return readdirSync(ck)
      .map((n) => /^ckpt-([0-9]+)\.bhck$/.exec(n))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
  } catch {
    return [];
  }
}

/** Spawns the training run and SIGKILLs it as soon as `count` checkpoints were written (the dir is polled). */
function trainAndKill(args: string[], ck: string, everyRows: number, count: number): Promise<{ signal: NodeJS.Signals | null; rows: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'train', ...args, '--checkpoint-dir', ck, '--checkpoint-every', String(everyRows), '--out', join(ck, '..', 'never.bhm')], { stdio: 'ignore' });
    const timer = setInterval(() => {
      const rows = checkpointRows(ck);
      if (rows.length > 0 && Math.max(...rows) >= count * everyRows) child.kill('SIGKILL');
    }, 3);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      resolve({ signal, rows: checkpointRows(ck) });
    });
  });
}

for (const mode of ['memory', 'stream'] as const) {
  test(`kill -9 after the 1st and the 4th checkpoint, --resume: the same predictions as an uninterrupted run, byte for byte (${mode}, adam)`, async () => {
    await data();
    const sub = tempDir(`bhembed-resume-${mode}-`);
    const whole = join(sub, 'whole.bhm');
    const r = await bhembedInProcess(['train', ...trainArgs(mode), '--out', whole]);
    assert.equal(r.status, 0, r.stderr);
    const expected = await predictions(whole);
    for (const count of [1, 4]) {
      const ck = join(sub, `ck${count}`);
      const killed = await trainAndKill(trainArgs(mode), ck, 1500, count);
      assert.equal(killed.signal, 'SIGKILL', 'the run ended before it was killed');
      assert.ok(killed.rows.length >= 1 && killed.rows.length <= 2, `keeps at most 2 checkpoints, found ${killed.rows.join(', ')}`);
      const out = join(sub, `resumed${count}.bhm`);
      const res = await bhembedInProcess(['train', '--resume', ck, '--out', out, '-q']);
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`resumed from .*ckpt-0*${Math.max(...killed.rows)}\\.bhck`));
      assert.ok(Math.max(...killed.rows) < 24000, 'resumed before the end of training');
      assert.ok((await predictions(out)).equals(expected), `predictions after a kill at ${Math.max(...killed.rows)} rows differ from the uninterrupted run`);
    }
  });
}

function oneLine(r: { status: number; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('a truncated, corrupted, foreign or non-checkpoint file is refused with one line naming it (exit 2)', async () => {
  await data();
  const sub = tempDir('bhembed-resume-bad-');
  const ck = join(sub, 'ck');
  const args = trainArgs('memory');
  const ok = await bhembedInProcess(['train', ...args, '--checkpoint-dir', ck, '--checkpoint-every', '9000', '--out', join(sub, 'm.bhm')]);
  assert.equal(ok.status, 0, ok.stderr);
  const rows = checkpointRows(ck).sort((a, b) => b - a);
  assert.equal(rows.length, 2, 'the last 2 checkpoints are kept');
  const newest = join(ck, `ckpt-${String(rows[0]).padStart(12, '0')}.bhck`);
  const bytes = readFileSync(newest);
  const bad = join(sub, 'bad');
  const damaged = (name: string, b: Uint8Array): string => {
    const d = join(bad, name);
    writeFileSync(join(tempDirIn(d), 'ckpt-000000000001.bhck'), b);
    return d;
  };
  // Truncated: the newest is refused, naming the one to fall back to.
  const trunc = join(sub, 'trunc');
  tempDirIn(trunc);
  for (const r of rows) copyFileSync(join(ck, `ckpt-${String(r).padStart(12, '0')}.bhck`), join(trunc, `ckpt-${String(r).padStart(12, '0')}.bhck`));
  writeFileSync(join(trunc, `ckpt-${String(rows[0]).padStart(12, '0')}.bhck`), bytes.subarray(0, bytes.length - 1000));
  oneLine(await bhembedInProcess(['train', '--resume', trunc]), 2, /ckpt-0*\d+\.bhck: truncated: .*delete it to resume from the previous checkpoint .*ckpt-/);
  const flipped = Uint8Array.from(bytes);
  flipped[Math.floor(bytes.length / 2)] ^= 0x10;
  oneLine(await bhembedInProcess(['train', '--resume', damaged('flip', flipped)]), 2, /ckpt-000000000001\.bhck: checksum mismatch/);
  const v2 = Uint8Array.from(bytes);
  v2[4] = 99;
  oneLine(await bhembedInProcess(['train', '--resume', damaged('version', v2)]), 2, /checkpoint format version 99, this bhembed reads version 1/);
  oneLine(await bhembedInProcess(['train', '--resume', damaged('text', new TextEncoder().encode('label\tI1\n1\t2\n'))]), 2, /ckpt-000000000001\.bhck: not a bhembed training checkpoint/);
  oneLine(await bhembedInProcess(['train', '--resume', damaged('model', readFileSync(join(sub, 'm.bhm')))]), 2, /is a model file \(\.bhm\), not a training checkpoint/);
  oneLine(await bhembedInProcess(['train', '--resume', join(sub, 'empty-nothing')]), 1, /no such checkpoint folder/);
  // Another run's options: explicit flags that differ are listed; a fresh run will not write into a used folder.
  oneLine(await bhembedInProcess(['train', '--resume', ck, '--dim', '16', '--lr', '0.01']), 2, /2 given option\(s\) differ: --dim: "8" in the checkpoint, "16" given; --lr: .*/);
  oneLine(await bhembedInProcess(['train', ...args, '--checkpoint-dir', ck]), 2, /--checkpoint-dir .*: holds checkpoints already/);
  // Another model's checkpoint as --init-from: the differences, one line.
  oneLine(await bhembedInProcess(['train', ...args.filter((a) => a !== '--mlp' && a !== '32'), '--mlp', '16,8', '--init-from', ck]), 2, /--init-from .*ckpt-.*this run's model differs .*mlp: \[32\] in the model, \[16,8\] here/);
});

function tempDirIn(d: string): string {
  mkdirSync(d, { recursive: true });
  return d;
}
