// What predict writes for real use: the input's row numbers after skipped rows, unlabelled input (detected or
// --no-label), an id column passed through, the format from the output's name, and no header before an error.
// Plus the small model-command messages a first day hits (train without --out, a gzip file as model, int8 on lr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bhembed, criteoLines, tempDir } from './cli-helpers.js';

const dir = tempDir('bhembed-predict-out-');
const lines = criteoLines(400, 7);
const train = join(dir, 'train.tsv');
writeFileSync(train, `${lines.join('\n')}\n`);
const model = join(dir, 'm.bhm');
const trained = bhembed(['train', '--train', train, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--out', model, '-q']);

test('train: the model trains (setup), and a run without --out says the model was not saved', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const r = bhembed(['train', '--train', train, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--max-rows', '100', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\nmodel not saved: give --out FILE to keep it for eval, predict and inspect\n$/);
});

test('predict --on-error skip: row is the input data row, so output rows stay joined to input lines after a skip', () => {
  const input = join(dir, 'skip.tsv');
  writeFileSync(input, [lines[0], 'broken', lines[1], lines[2]].join('\n') + '\n');
  const r = bhembed(['predict', model, input, '--on-error', 'skip', '-q']);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  assert.equal(out[0], 'row,label,probability');
  assert.deepEqual(out.slice(1).map((l) => l.split(',')[0]), ['0', '2', '3']);
  assert.deepEqual(out.slice(1).map((l) => l.split(',')[1]), [lines[0], lines[1], lines[2]].map((l) => l.split('\t')[0]));
});

test('predict on unlabelled rows: detected and stated (or --no-label), row,probability, the same scores as with labels', () => {
  const labelled = bhembed(['predict', model, train, '-q', '--max-rows', '5'].filter((a) => a !== '--max-rows' && a !== '5'));
  assert.equal(labelled.status, 0, labelled.stderr);
  const want = labelled.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[2]);
  const bare = join(dir, 'bare.tsv');
  writeFileSync(bare, `${lines.map((l) => l.slice(l.indexOf('\t') + 1)).join('\n')}\n`);
  const detected = bhembed(['predict', model, bare]);
  assert.equal(detected.status, 0, detected.stderr);
  assert.match(detected.stderr, new RegExp(`bhembed: ${bare}: no label column found: writing probabilities only`));
  const out = detected.stdout.trim().split('\n');
  assert.equal(out[0], 'row,probability');
  assert.deepEqual(out.slice(1).map((l) => l.split(',')[1]), want);
  const quiet = bhembed(['predict', model, bare, '--no-label', '-q']);
  assert.equal(quiet.stderr, '');
  assert.equal(quiet.stdout, detected.stdout);
  const withMetrics = bhembed(['predict', model, bare, '--metrics', join(dir, 'm.json')]);
  assert.equal(withMetrics.status, 2);
  assert.match(withMetrics.stderr, /--metrics: .* has no labels to score the predictions against/);
  // eval needs labels and says where unlabelled rows go
  const ev = bhembed(['eval', model, bare]);
  assert.equal(ev.status, 2);
  assert.match(ev.stderr, /expected 40 tab-separated fields, got 39 \(no label column\? .*bhembed predict --no-label/);
});

test('predict -o x.jsonl writes JSON lines; no header when the first row fails', () => {
  const out = join(dir, 'p.jsonl');
  const r = bhembed(['predict', model, train, '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ['row', 'label', 'probability']);
  const bad = join(dir, 'bad.tsv');
  writeFileSync(bad, 'x\ty\n');
  const f = bhembed(['predict', model, bad]);
  assert.equal(f.status, 2);
  assert.equal(f.stdout, '', 'no CSV header before the error');
});

test('predict --id-column on avazu passes the id through (text, beyond 2^53), with and without labels', () => {
  const rows = Array.from({ length: 60 }, (_, i) => `${10000000000000000000n + BigInt(i)},${i % 3 === 0 ? 1 : 0},1410210${i % 10},s${i % 4},a${i % 5}`);
  const av = join(dir, 'av.csv');
  writeFileSync(av, `id,click,hour,site,app\n${rows.join('\n')}\n`);
  const m = join(dir, 'av.bhm');
  const t = bhembed(['train', '--train', av, '--format', 'avazu', '--model', 'lr', '--embedding', 'full', '--out', m, '-q']);
  assert.equal(t.status, 0, t.stderr);
  const p = bhembed(['predict', m, av, '--id-column', 'id', '-q']);
  assert.equal(p.status, 0, p.stderr);
  const out = p.stdout.trim().split('\n');
  assert.equal(out[0], 'row,id,label,probability');
  assert.equal(out[1].split(',')[1], '10000000000000000000');
  const testFile = join(dir, 'av-test.csv');
  writeFileSync(testFile, `id,hour,site,app\n${rows.map((r) => r.split(',').filter((_, k) => k !== 1).join(',')).join('\n')}\n`);
  const u = bhembed(['predict', m, testFile, '--id-column', 'id', '-q']);
  assert.equal(u.status, 0, u.stderr);
  const uo = u.stdout.trim().split('\n');
  assert.equal(uo[0], 'row,id,probability');
  assert.deepEqual(uo.slice(1).map((l) => l.split(',').slice(1).join(',')), out.slice(1).map((l) => { const c = l.split(','); return `${c[1]},${c[3]}`; }));
  const criteoId = bhembed(['predict', model, train, '--id-column', 'id']);
  assert.equal(criteoId.status, 2);
  assert.match(criteoId.stderr, /idColumn 'id': criteo rows have no named columns to pass through/);
});

test('a gzip file given as the model says so; int8 on a model without a tower does not speak of an mlp', () => {
  const gz = join(dir, 'data.gz');
  writeFileSync(gz, gzipSync(Buffer.from(`${lines[0]}\n`)));
  const r = bhembed(['eval', gz, train]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `bhembed: ${gz}: not a valid bhembed model file: this is gzip data (a compressed data file?), not a model file\n`);
  const q = bhembed(['eval', model, train, '--precision', 'int8']);
  assert.equal(q.status, 2);
  assert.match(q.stderr, /arch 'lr' has no deep tower, so no hidden layers to quantize/);
  assert.doesNotMatch(q.stderr, /mlp/);
});

test('inspect counts the embedding bytes as train does (block weights included; float16 files say what is stored)', () => {
  const m = join(dir, 'bh16.bhm');
  const t = bhembed(['train', '--train', train, '--format', 'criteo', '--model', 'dnn', '--mlp', '8', '--embedding', 'bh', '--compression', '4', '--dtype', 'float16', '--out', m, '-q']);
  assert.equal(t.status, 0, t.stderr);
  const trained = /embedding bh: \d+ rows \((\d+\.\d KB)\)/.exec(t.stdout)?.[1];
  assert.ok(trained !== undefined, t.stdout);
  const i = bhembed(['inspect', m]);
  assert.equal(i.status, 0, i.stderr);
  const shown = /; tables (\d+\.\d KB) \((\d+\.\d KB) stored as float16\)/.exec(i.stdout);
  assert.ok(shown !== null, i.stdout);
  assert.equal(shown[1], trained);
});
