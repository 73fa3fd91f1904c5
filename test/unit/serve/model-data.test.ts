// A model file's record of its training data (meta.data) is checked when data is opened with it: a file without it,
// bad reader settings stored in it, or data whose columns differ from the training data's by name or order are
// errors naming the file and the key or field (a missing meta.data was a TypeError stack trace; swapped columns with
// equal counts were scored silently; a count mismatch was reported as a corrupt model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { openReader } from '../../../src/data/open.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import type { ModelFileMeta } from '../../../src/models/model-file.js';
import { readModelFile, writeModelFile } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { saveModel } from '../../../src/train/checkpoint.js';
import { tempDir } from '../../temp-dir.js';

const COLS = ['id', 'click', 'hour', 'C1', 'site_id', 'app_id'];

function avazu(path: string, order: string[], rows = 40): void {
  const rng = new Rng(4);
  const lines = [order.join(',')];
  for (let i = 0; i < rows; i++) {
    const v: Record<string, string> = { id: String(i), click: String(rng.int(2)), hour: '14102100', C1: String(1000 + rng.int(3)), site_id: `s${rng.int(9)}`, app_id: `a${rng.int(5)}` };
    lines.push(order.map((c) => v[c]).join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const dir = tempDir('bhembed-model-data-');
const train = join(dir, 'train.csv');
avazu(train, COLS);

/** A small DNN saved with meta.data as `bhembed train` writes it, with `data` overridden. */
async function saveAvazuModel(name: string, data?: (d: ModelFileMeta['data']) => unknown): Promise<string> {
  const r = await openReader('avazu', train);
  const config = { arch: 'dnn' as const, dim: 4, mlp: [4], numDense: 0, seed: 1, fields: r.fieldNames.map((n) => ({ name: n, index: { method: 'hash' as const, rows: 16 } })) };
  const model = createModel(config, { ops: new ReferenceOps(), maxBatch: 8 });
  const d: ModelFileMeta['data'] = { format: 'avazu', fieldNames: [...r.fieldNames], denseNames: [], reader: {} };
  const meta = { bhembed: 'test', data: data ? data(d) : d, engine: { ops: 'reference', gemm: 'reference' }, evalBatch: 8, embedding: { method: 'hash', dim: 4, fields: [] } } as ModelFileMeta;
  const path = join(dir, name);
  saveModel(path, model, meta);
  return path;
}

type Err = Error & { code?: string };

test('a model file without meta.data: CheckpointError naming the file and the key when data is opened', async () => {
  const good = await saveAvazuModel('good.bhm');
  const c = readModelFile(good);
  const bare = join(dir, 'bare.bhm');
  writeModelFile(bare, c.model, {}, c.tensors);
  const p = await Predictor.load(bare); // predictChunks needs no meta.data
  await assert.rejects(p.open(train), (e: Err) => {
    assert.equal(e.name, 'CheckpointError');
    assert.equal(e.message, `${bare}: the model file's metadata has no key 'data' (the training data's format, fields and reader settings), so it cannot read data files`);
    return true;
  });
  assert.throws(() => p.format, /no key 'data'/);
  const noFormat = await saveAvazuModel('noformat.bhm', (d) => ({ ...d, format: undefined }));
  await assert.rejects((await Predictor.load(noFormat)).open(train), (e: Err) => e.name === 'CheckpointError' && e.message.startsWith(`${noFormat}: `) && /'data\.format'/.test(e.message));
  const noReader = await saveAvazuModel('noreader.bhm', (d) => ({ ...d, reader: undefined }));
  await assert.rejects((await Predictor.load(noReader)).open(train), (e: Err) => e.name === 'CheckpointError' && /'data\.reader'/.test(e.message));
  const fewNames = await saveAvazuModel('fewnames.bhm', (d) => ({ ...d, fieldNames: d.fieldNames.slice(1) }));
  await assert.rejects((await Predictor.load(fewNames)).open(train), (e: Err) => e.name === 'CheckpointError' && /'data\.fieldNames' has \d+ names but the model has \d+/.test(e.message));
});

test('bad reader settings stored in the model name the model file; the same bad value from the caller stays a ConfigError', async () => {
  const xml = await saveAvazuModel('xml.bhm', (d) => ({ ...d, format: 'xml' }));
  await assert.rejects((await Predictor.load(xml)).open(train), (e: Err) => {
    assert.equal(e.name, 'CheckpointError');
    assert.equal(e.code, 'checkpoint.corrupt');
    assert.match(e.message, new RegExp(`^${xml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the model file's metadata key 'data\\.format' is 'xml', not one of: criteo, `));
    return true;
  });
  const explode = await saveAvazuModel('explode.bhm', (d) => ({ ...d, reader: { onError: 'explode' } }));
  const p = await Predictor.load(explode);
  await assert.rejects(p.open(train), (e: Err) => {
    assert.equal(e.name, 'CheckpointError');
    assert.ok(e.message.startsWith(`${explode}: the reader settings stored in the model file are invalid: `), e.message);
    assert.match(e.message, /onError/);
    assert.match(e.message, /explode/);
    return true;
  });
  // The caller's own option overrides the stored one, and the caller's bad value is the caller's error.
  assert.equal((await p.open(train, { onError: 'skip' })).numFields, p.config.fields.length);
  const good = await Predictor.load(await saveAvazuModel('good2.bhm'));
  await assert.rejects(good.open(train, { onError: 'explode' as 'skip' }), (e: Err) => e.name === 'ConfigError' && !e.message.includes('good2.bhm'));
});

test('data whose columns differ from the training data by name or order is a DataError naming the first differing field', async () => {
  const path = await saveAvazuModel('m.bhm');
  const p = await Predictor.load(path);
  assert.equal((await p.open(train)).numFields, p.config.fields.length);
  const swapped = join(dir, 'swapped.csv');
  avazu(swapped, ['id', 'click', 'hour', 'C1', 'app_id', 'site_id']);
  const names = p.meta.data.fieldNames;
  const i = names.indexOf('site_id');
  await assert.rejects(p.open(swapped), (e: Err) => {
    assert.equal(e.name, 'DataError');
    assert.equal(e.code, 'data.parse');
    assert.equal(e.message, `${swapped}: field ${i + 1} is 'app_id' here but 'site_id' in the model ${path}; the columns must match in name and order`);
    return true;
  });
  const fewer = join(dir, 'fewer.csv');
  avazu(fewer, ['id', 'click', 'hour', 'C1', 'site_id']);
  await assert.rejects(p.open(fewer), (e: Err) => e.name === 'DataError' && e.message === `${fewer}: field ${names.indexOf('app_id') + 1} is missing here but 'app_id' in the model ${path}; the columns must match in name and order`);
  // A file without recorded names (older bhembed) still compares the counts, as a data error.
  const noNames = await saveAvazuModel('nonames.bhm', (d) => ({ ...d, fieldNames: undefined, denseNames: undefined }));
  await assert.rejects((await Predictor.load(noNames)).open(fewer), (e: Err) => e.name === 'DataError' && e.message.startsWith(`${fewer}: has ${names.length - 1} fields and 0 dense inputs, the model ${noNames} expects ${names.length} and 0`));
});
