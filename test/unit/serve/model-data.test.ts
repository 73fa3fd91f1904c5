// A model file's record of its training data (meta.data) is checked when data is opened with it: a file without it
// is a CheckpointError naming the file and the missing key (it was a TypeError stack trace).
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
