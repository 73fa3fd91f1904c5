// sweep --group-by: each cell's group AUC in results.json/csv/md, equal to `eval --group-by` on the cell's kept
// model (--keep-models); sweep --weight-column: weighted cells, and another weight column is another fingerprint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { tempDir } from '../../temp-dir.js';

function files(): { dir: string; train: string; test: string; schema: string } {
  const dir = tempDir('sweep-gauc-');
  const rng = new Rng(8);
  const rows = (n: number): string =>
    Array.from({ length: n }, () => {
      const u = rng.int(25);
      const a = rng.int(8);
      return `${rng.next() < (a < 3 ? 0.6 : 0.2) ? 1 : 0},u${u},a${a},${1 + rng.int(3)}`;
    }).join('\n');
  const write = (name: string, n: number): string => {
    const p = join(dir, name);
    writeFileSync(p, `y,user,ad,w\n${rows(n)}\n`);
    return p;
  };
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'y', categorical: ['user', 'ad'] }));
  return { dir, train: write('train.csv', 400), test: write('test.csv', 300), schema };
}

test('sweep --group-by reports each cell\'s gAUC (json, csv, md), the same as eval --group-by on its kept model', async () => {
  const f = files();
  const out = join(f.dir, 'sweep');
  const base = ['sweep', '--train', f.train, '--test', f.test, '--format', 'csv', '--schema', f.schema, '--model', 'lr', '--epochs', '2', '--methods', 'full,hash', '--compressions', '2', '--seeds', '1', '--out-dir', out, '-q'];
  const r = await bhembedInProcess([...base, '--group-by', 'user', '--keep-models']);
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Record<string, { test: { auc: number; gauc?: number }; modelFile: string }> };
  for (const key of ['full@1#1', 'hash@2#1']) {
    const cell = results.cells[key];
    assert.equal(typeof cell.test.gauc, 'number', key);
    const ev = await bhembedInProcess(['eval', cell.modelFile, f.test, '--group-by', 'user', '--json', '-q']);
    assert.equal(ev.status, 0, ev.stderr);
    const res = JSON.parse(ev.stdout).results[0] as { auc: number; gauc: { gauc: number } };
    assert.equal(res.gauc.gauc, cell.test.gauc, `${key}: the kept model's gAUC`);
    assert.equal(res.auc, cell.test.auc);
  }
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  const head = csv[0].split(',');
  assert.ok(head.includes('test_gauc'));
  assert.equal(Number(csv[1].split(',')[head.indexOf('test_gauc')]), results.cells['full@1#1'].test.gauc);
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(md, /\| test AUC \| AUC \/ full \| test logloss \| test gAUC by user \| seeds \|/);
  assert.ok(md.includes(`| ${(results.cells['hash@2#1'].test.gauc as number).toFixed(4)} |`));
  assert.match(r.stdout, /test gAUC by user/);
  // Without --group-by: no gAUC column (and the cells are trained again: another option).
  const plain = await bhembedInProcess([...base, '--methods', 'full']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.doesNotMatch(readFileSync(join(out, 'results.md'), 'utf8'), /gAUC/);
  const bad = await bhembedInProcess([...base, '--group-by', 'nosuch']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--group-by nosuch: the data has no field 'nosuch' \(its fields: user, ad\)/);
});

test('sweep --weight-column: cells are trained and scored weighted; the column is part of the cells\' fingerprint', async () => {
  const f = files();
  const out = join(f.dir, 'sweep-w');
  const base = ['sweep', '--train', f.train, '--test', f.test, '--format', 'csv', '--schema', f.schema, '--model', 'lr', '--epochs', '1', '--methods', 'hash', '--compressions', '2', '--seeds', '1', '--out-dir', out];
  const a = await bhembedInProcess(base);
  assert.equal(a.status, 0, a.stderr);
  const w = await bhembedInProcess([...base, '--weight-column', 'w']);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, /hash@2#1: trained again, the saved result is out of date \(data\.weightColumn: unset → "w"\)/);
  const auc = (s: string): number => Number(/\| hash \| 2 \| [^|]+ \| [^|]+ \| [^|]+ \| ([0-9.]+) \|/.exec(s)?.[1]);
  assert.notEqual(auc(w.stdout), auc(a.stdout), 'weighted training and metrics give another AUC');
});
