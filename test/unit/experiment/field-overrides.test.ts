// Per-field overrides (--fields FILE): one field full with its own min count, one hashed at its own ratio, the rest
// as the run says; the model file carries each field's spec, so eval/predict/export score the same; bad files are
// refused naming file, field and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { loadRunData, planIndexSpecs } from '../../../src/experiment/pipeline.js';
import type { ModelOptions } from '../../../src/experiment/pipeline.js';
import { checkFieldOverrides } from '../../../src/experiment/field-overrides.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('field-overrides-');

/** csv with three categorical columns of 50, 400 and 400 values; in column `user` value k appears about k+1 times. */
function writeData(): { csv: string; schema: string } {
  const rng = new Rng(2);
  const lines = ['click,user,item,site'];
  for (let i = 0; i < 3000; i++) {
    const user = Math.floor(Math.sqrt(rng.int(2500))); // P(k) ∝ 2k + 1
    lines.push(`${rng.next() < 0.3 ? 1 : 0},u${user},i${rng.int(400)},s${rng.int(400)}`);
  }
  const csv = join(dir, 'd.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'click', categorical: ['user', 'item', 'site'] }));
  return { csv, schema };
}

const base: ModelOptions = { arch: 'deepfm', method: 'bh', compression: 8, dim: 4, epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1 };

test('overrides: a field full with its own min count, a field hashed at its own ratio, the rest planned as without', async () => {
  const { csv, schema } = writeData();
  const data = await loadRunData({ format: 'csv', train: csv, schema });
  const plain = planIndexSpecs(data, base).specs;
  const { specs } = planIndexSpecs(data, { ...base, fields: { user: { method: 'full', minCount: 30 } as const, site: { method: 'hash', compression: 20 } } });
  assert.deepEqual(specs[1], plain[1], 'item: as planned without overrides');
  assert.equal(specs[0].method, 'full');
  const userFull = planIndexSpecs(data, { ...base, method: 'full', compression: undefined }).specs[0];
  // Users seen ≥ 30 times only: fewer rows than the 50-value vocabulary, and exactly the frequent ones.
  const frequent = planIndexSpecs(data, { ...base, method: 'full', compression: undefined, minCount: 30 }).specs[0];
  assert.deepEqual(specs[0], frequent);
  assert.ok(specs[0].method === 'full' && userFull.method === 'full' && specs[0].vocab.length < userFull.vocab.length && specs[0].vocab.length > 5);
  assert.equal(specs[2].method, 'hash');
  assert.equal(specs[2].method === 'hash' && specs[2].rows, Math.floor((data.distinct[2] + 1) / 20));
  // Without a run ratio a compressed override needs its own.
  assert.throws(() => planIndexSpecs(data, { ...base, method: 'full', compression: undefined, fields: { site: { method: 'bh' } }, fieldsSource: 'f.json' }), /^ConfigError: f\.json: field 'site': method 'bh' needs a ratio: give "compression" for this field$/);
  assert.throws(() => planIndexSpecs(data, { ...base, fields: { C3: { method: 'full' } }, fieldsSource: 'f.json' }), /f\.json: field 'C3': the training data has no such field \(its fields: user, item, site\)/);
});

test('overrides: every key is checked, naming file, field and key', () => {
  const cases: [unknown, RegExp][] = [
    [[1], /^o\.json: must be a JSON object of field name/],
    [{ C3: 'full' }, /^o\.json: field 'C3': must be an object with method, minCount, compression$/],
    [{ C3: { mehtod: 'full' } }, /^o\.json: field 'C3': unknown key 'mehtod' \(allowed: method, minCount, compression\)$/],
    [{ C3: { method: 'fulll' } }, /^o\.json: field 'C3': key 'method': "fulll" is not one of full, hash, qr, dhash, bh, hybrid$/],
    [{ C3: { method: 'full', minCount: 0 } }, /^o\.json: field 'C3': key 'minCount': must be an integer ≥ 1, got 0$/],
    [{ C3: { method: 'hash', compression: 0.5 } }, /^o\.json: field 'C3': key 'compression': must be a number ≥ 1, got 0\.5$/],
    [{ C3: { method: 'hash', minCount: 3 } }, /^o\.json: field 'C3': key 'minCount' applies to method 'full' only, not 'hash'$/],
    [{ C3: { method: 'full', dim: 16 } }, /^o\.json: field 'C3': key 'dim': a per-field dim is not supported/],
  ];
  for (const [raw, re] of cases) assert.throws(() => checkFieldOverrides(raw, 'o.json'), (e: Error) => e.name === 'ConfigError' && re.test(e.message));
});

test('bhembed train --fields: the model file records each field\'s method; eval reproduces the test AUC; a bad file exits 2', async () => {
  const { csv, schema } = writeData();
  const fields = join(dir, 'fields.json');
  writeFileSync(fields, JSON.stringify({ user: { method: 'full', minCount: 30 }, site: { method: 'hash', compression: 20 } }));
  const model = join(dir, 'm.bhm');
  const metrics = join(dir, 'm.json');
  const tr = await bhembedInProcess(['train', '--train', csv, '--test', csv, '--format', 'csv', '--schema', schema, '--embedding', 'bh', '--compression', '8', '--dim', '4', '--fields', fields, '--out', model, '--metrics', metrics, '-q']);
  assert.equal(tr.status, 0, tr.stderr);
  const inspect = await bhembedInProcess(['inspect', model, '--json']);
  assert.equal(inspect.status, 0, inspect.stderr);
  const methods = (JSON.parse(inspect.stdout) as { fields: { name: string; method: string }[] }).fields.map((f) => `${f.name}:${f.method}`);
  assert.deepEqual(methods, ['user:full', 'item:bh', 'site:hash']);
  const ev = await bhembedInProcess(['eval', model, csv, '--json', '-q']);
  assert.equal(ev.status, 0, ev.stderr);
  const trained = JSON.parse((await import('node:fs')).readFileSync(metrics, 'utf8')) as { test: { auc: number } };
  assert.equal((JSON.parse(ev.stdout) as { results: { auc: number }[] }).results[0].auc, trained.test.auc);
  writeFileSync(fields, JSON.stringify({ user: { method: 'full', dim: 16 } }));
  const bad = await bhembedInProcess(['train', '--train', csv, '--format', 'csv', '--schema', schema, '--embedding', 'bh', '--compression', '8', '--fields', fields, '-q']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, new RegExp(`${fields.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: field 'user': key 'dim': a per-field dim is not supported`));
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});
