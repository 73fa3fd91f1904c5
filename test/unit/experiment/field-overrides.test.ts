// Per-field overrides (--fields FILE): one field full with its own min count, one hashed at its own ratio, fields of
// their own dims, the rest as the run says; the model file carries each field's spec and dim, so eval/predict/export
// score the same; a memory budget holds the tables of every width to the byte; bad files, FM models with mixed dims
// and --init-from with other dims are refused naming file, field and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { loadRunData, modelConfigFor, planIndexSpecs } from '../../../src/experiment/pipeline.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { createModel } from '../../../src/models/registry.js';
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
    [{ C3: 'full' }, /^o\.json: field 'C3': must be an object with method, minCount, compression, dim$/],
    [{ C3: { mehtod: 'full' } }, /^o\.json: field 'C3': unknown key 'mehtod' \(allowed: method, minCount, compression, dim\)$/],
    [{ C3: { method: 'fulll' } }, /^o\.json: field 'C3': key 'method': "fulll" is not one of full, hash, qr, dhash, bh, hybrid$/],
    [{ C3: { method: 'full', minCount: 0 } }, /^o\.json: field 'C3': key 'minCount': must be an integer ≥ 1, got 0$/],
    [{ C3: { method: 'hash', compression: 0.5 } }, /^o\.json: field 'C3': key 'compression': must be a number ≥ 1, got 0\.5$/],
    [{ C3: { method: 'hash', minCount: 3 } }, /^o\.json: field 'C3': key 'minCount' applies to method 'full' only, not 'hash'$/],
    [{ C3: { method: 'full', dim: 0 } }, /^o\.json: field 'C3': key 'dim': must be an integer in \[1, 4096\], got 0$/],
    [{ C3: { dim: 2.5 } }, /^o\.json: field 'C3': key 'dim': must be an integer in \[1, 4096\], got 2\.5$/],
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
  writeFileSync(fields, JSON.stringify({ user: { method: 'full', dimm: 16 } }));
  const bad = await bhembedInProcess(['train', '--train', csv, '--format', 'csv', '--schema', schema, '--embedding', 'bh', '--compression', '8', '--fields', fields, '-q']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, new RegExp(`${fields.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: field 'user': unknown key 'dimm'`));
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('"dim" per field: a memory budget holds the tables of every width to the byte (rows × that field\'s dim × 4)', async () => {
  const { csv, schema } = writeData();
  const data = await loadRunData({ format: 'csv', train: csv, schema });
  const budget = 6_011;
  const m: ModelOptions = { ...base, arch: 'wdl', compression: undefined, memoryBudget: budget, fusion: 'weighted', fields: { user: { dim: 8 }, site: { dim: 2 } } };
  const { specs, plan } = planIndexSpecs(data, m);
  const model = createModel(modelConfigFor(data, m, specs), { ops: new ReferenceOps(), maxBatch: 4 });
  const bytes = (name: string): number => 4 * (model.parameters().find((p) => p.name === name)?.data.length ?? NaN);
  // user (8 + 1 linear floats a row), item (4 + 1), site (2 + 1): each table holds its fields' rows at its width.
  const rows = plan?.fields.map((f) => f.rows) ?? [];
  assert.deepEqual(plan?.fields.map((f) => f.dim), [9, 5, 3]);
  assert.equal(bytes('emb_d8.table'), 4 * 8 * rows[0]);
  assert.equal(bytes('emb.table'), 4 * 4 * rows[1]);
  assert.equal(bytes('emb_d2.table'), 4 * 2 * rows[2]);
  assert.equal(bytes('linear.table'), 4 * (rows[0] + rows[1] + rows[2]));
  const tables = bytes('emb_d8.table') + bytes('emb.table') + bytes('emb_d2.table') + bytes('linear.table');
  assert.equal(tables, plan?.totalBytes);
  const blockWeights = model.parameters().filter((p) => p.name.endsWith('.block_weights')).reduce((a, p) => a + 4 * p.data.length, 0);
  assert.ok(blockWeights > 0 && tables + blockWeights <= budget, `${tables} + ${blockWeights} ≤ ${budget}`);
  // The same budget at one width for all (5 floats a row): the narrow 'site' then has a smaller share of rows.
  const uniform = planIndexSpecs(data, { ...m, fields: undefined }).plan;
  const share = (p: typeof plan | null): number => p?.fields[2].budgetRows ?? NaN;
  assert.ok(share(uniform) < share(plan), `${share(uniform)} < ${share(plan)}`);
  model.dispose();
});

test('bhembed train --fields with "dim": inspect, eval (fp32 and int8) and export take the widths; deepfm and --init-from with other dims are refused', async () => {
  const { csv, schema } = writeData();
  const fields = join(dir, 'dims.json');
  writeFileSync(fields, JSON.stringify({ user: { method: 'full', minCount: 30, dim: 8 }, site: { dim: 2 } }));
  const model = join(dir, 'dims.bhm');
  const metrics = join(dir, 'dims.json.metrics');
  const common = ['--train', csv, '--test', csv, '--format', 'csv', '--schema', schema, '--embedding', 'bh', '--compression', '8', '--dim', '4', '--mlp', '8'];
  const tr = await bhembedInProcess(['train', ...common, '--model', 'dnn', '--fields', fields, '--out', model, '--metrics', metrics, '-q']);
  assert.equal(tr.status, 0, tr.stderr);
  const inspect = await bhembedInProcess(['inspect', model, '--json']);
  const info = JSON.parse(inspect.stdout) as { file: { formatVersion: number }; fields: { name: string; dim: number }[]; embedding: { tables: { name: string; shape: number[] }[] } };
  assert.equal(info.file.formatVersion, 2);
  assert.deepEqual(info.fields.map((f) => `${f.name}:${f.dim}`), ['user:8', 'item:4', 'site:2']);
  assert.deepEqual(info.embedding.tables.filter((t) => t.name.endsWith('.table')).map((t) => `${t.name}:${t.shape[1]}`), ['emb_d8.table:8', 'emb.table:4', 'emb_d2.table:2']);
  const text = (await bhembedInProcess(['inspect', model])).stdout;
  assert.match(text, /^model {5}dnn, dims 2, 4, 8 per field \(default 4\), mlp \[8\]$/m);
  assert.match(text, /^site +bh .* 2 +S=/m);
  const trained = JSON.parse((await import('node:fs')).readFileSync(metrics, 'utf8')) as { test: { auc: number }; embedding: { fields: { name: string; dim?: number }[] } };
  assert.deepEqual(trained.embedding.fields.map((f) => f.dim), [8, undefined, 2]);
  for (const precision of ['fp32', 'int8']) {
    const ev = await bhembedInProcess(['eval', model, csv, '--json', '-q', '--precision', precision]);
    assert.equal(ev.status, 0, ev.stderr);
    const auc = (JSON.parse(ev.stdout) as { results: { auc: number }[] }).results[0].auc;
    if (precision === 'fp32') assert.equal(auc, trained.test.auc);
    else assert.ok(Math.abs(auc - trained.test.auc) < 0.01, `int8 AUC ${auc} vs ${trained.test.auc}`);
  }
  assert.ok(trained.test.auc > 0.5);
  const ex = await bhembedInProcess(['export', model, '-o', join(dir, 'dims.onnx'), '-q']);
  assert.equal(ex.status, 0, ex.stderr);
  // FM models need one width: refused before the data is read, naming the fields.
  const fm = await bhembedInProcess(['train', ...common, '--model', 'deepfm', '--fields', fields, '-q']);
  assert.equal(fm.status, 2);
  assert.equal(fm.stderr.trim().split('\n').length, 1, fm.stderr);
  assert.match(fm.stderr, /dims\.json: arch 'deepfm': the FM term multiplies every pair of field vectors, so all fields need one dim; fields user \(dim 8\), site \(dim 2\) differ from the model's dim 4/);
  // Continuing with other widths: refused with every difference listed.
  writeFileSync(fields, JSON.stringify({ user: { method: 'full', minCount: 30 }, item: { dim: 6 }, site: { dim: 2 } }));
  const init = await bhembedInProcess(['train', ...common, '--model', 'dnn', '--fields', fields, '--init-from', model, '-q']);
  assert.equal(init.status, 2, init.stderr);
  assert.match(init.stderr, /fields\[0\] \(user\)\.dim: 8 in the model, 4 here/);
  assert.match(init.stderr, /fields\[1\] \(item\)\.dim: 4 in the model, 6 here/);
  assert.doesNotMatch(init.stderr, /site/);
});
