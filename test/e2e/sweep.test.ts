// sweep through the CLI: all four outputs, and resume: a second run trains nothing, a removed cell is redone alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 600, valid: 100, test: 200 });
const out = join(dir, 'sweep');
const args = ['sweep', '--train', data.train, '--test', data.test, '--format', 'criteo', '--model', 'fm', '--dim', '2', '--lr', '0.01',
  '--methods', 'full,hash,bh', '--compressions', '2,4', '--seeds', '1,2', '--out-dir', out];

test('sweep writes JSON, CSV, Markdown and SVG; a second run redoes nothing', () => {
  const first = bhembed(args);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /10 cell\(s\) trained, 0 already done/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const keys = Object.keys(results.cells).sort();
  assert.deepEqual(keys, ['bh@2#1', 'bh@2#2', 'bh@4#1', 'bh@4#2', 'full@1#1', 'full@1#2', 'hash@2#1', 'hash@2#2', 'hash@4#1', 'hash@4#2']);
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 11);
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  assert.equal(md.split('\n').filter((l) => /^\| (full|hash|bh) \|/.test(l)).length, 5);
  const svg = readFileSync(join(out, 'auc-vs-compression.svg'), 'utf8');
  assert.ok(svg.startsWith('<svg'));
  for (const m of ['full', 'hash', 'bh']) assert.ok(svg.includes(`data-name="${m}"`));

  const second = bhembed(args);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /0 cell\(s\) trained, 10 already done/);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), results);

  // Lose one cell (as if killed during it): only that cell runs again.
  delete results.cells['bh@4#2'];
  writeFileSync(join(out, 'results.json'), JSON.stringify(results));
  const third = bhembed(args);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stdout, /1 cell\(s\) trained, 9 already done/);
  assert.match(third.stderr, /\[10\/10\] bh@4#2\n/);

  // Another shared option: the cell is trained again (not mixed in, not refused), and the log says why.
  const only = (a: string[]): string[] => a.map((x, i) => (a[i - 1] === '--methods' ? 'full' : a[i - 1] === '--seeds' ? '1' : x));
  const other = bhembed([...only(args), '--dim', '3']);
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout, /1 cell\(s\) trained, 0 already done/);
  assert.match(other.stderr, /\[1\/1\] full@1#1: trained again, the saved result is out of date \(model\.dim: 2 → 3\)\n/);
  // The same path with other contents (the demo regenerating its data): trained again, the data's identity named.
  writeFileSync(data.test, readFileSync(data.test, 'utf8').split('\n').slice(0, 150).join('\n') + '\n');
  const changed = bhembed([...only(args), '--dim', '3']);
  assert.equal(changed.status, 0, changed.stderr);
  assert.match(changed.stderr, /full@1#1: trained again, the saved result is out of date \(data\.identity\.test\.bytes: \d+ → \d+, data\.identity\.test\.mtimeMs: \d+ → \d+, data\.identity\.test\.head: "[0-9a-f]{16}" → "[0-9a-f]{16}"\)/);
});

test('sweep --keep-models writes each cell\'s model file, loadable by eval; a missing one is trained again', () => {
  const kept = join(dir, 'kept');
  const a = ['sweep', '--train', data.train, '--test', data.train, '--format', 'criteo', '--model', 'lr', '--methods', 'full,hash', '--compressions', '2', '--seeds', '1', '--out-dir', kept, '--keep-models'];
  const r = bhembed(a);
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(readFileSync(join(kept, 'results.json'), 'utf8'));
  const model = join(kept, 'models', 'hash@2#1.bhm');
  assert.equal(results.cells['hash@2#1'].modelFile, model);
  const ev = bhembed(['eval', model, data.train, '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).results[0].auc, results.cells['hash@2#1'].test.auc, 'the kept model scores as the cell did');
  rmSync(model);
  const again = bhembed(a);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /hash@2#1: trained again, the saved result is out of date \(--keep-models and .*hash@2#1\.bhm is missing\)/);
  assert.match(again.stdout, /1 cell\(s\) trained, 1 already done/);
});

test('sweep: bh-skip and bh-succession in one grid; a ratio the data cannot support is recorded, not fatal', () => {
  const out2 = join(dir, 'sweep-strategies');
  const r = bhembed(['sweep', '--train', data.train, '--test', data.test, '--format', 'criteo', '--model', 'fm', '--dim', '2', '--lr', '0.01',
    '--methods', 'full,bh-succession,bh-skip', '--compressions', '2,100000', '--seeds', '1', '--out-dir', out2]);
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(readFileSync(join(out2, 'results.json'), 'utf8'));
  for (const k of ['bh-succession@2#1', 'bh-skip@2#1']) {
    assert.ok(results.cells[k].test.auc > 0.5, k);
    assert.equal(results.cells[k].infeasible, undefined);
  }
  for (const k of ['bh-succession@100000#1', 'bh-skip@100000#1']) assert.match(results.cells[k].infeasible, /fewer than the 2 rows a compressed field needs/);
  assert.match(r.stdout, /\| bh-skip \| 2 \|/);
  assert.match(r.stdout, /- bh-skip@100000 \(seed 1\) not run: plan: field/);
  assert.match(r.stdout, /AUC \/ full/);
});
