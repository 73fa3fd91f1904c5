// The libsvm/libffm model files of 0.1.0 were trained and scored with every value weight 1 (weights did not reach the
// model then) and record no `valueWeights`. Every path that rebuilds such a model's reader must score them as 0.1.0
// did: the Predictor's row encoder (JSON rows, as `bhembed serve` scores them) and chunks from any reader, the browser encoder (WebModel) and the
// exported ONNX graph (no weight inputs). The same file stamped `valueWeights: true` (as `bhembed train` writes files
// now) must take the weights on every path. (Predictor.predictFile on these files: test/unit/serve/compat-fixture.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../src/export/onnx-model.js';
import { decodeModelFile, encodeModelFile, type ModelFileContents } from '../../src/models/model-codec.js';
import { readModelFile } from '../../src/models/model-file.js';
import { openReader } from '../../src/data/open.js';
import type { DataFormat } from '../../src/data/reader.js';
import { Predictor } from '../../src/serve/predictor.js';
import { WebModel, type RawRow } from '../../src/web/index.js';
import type { CompatScores } from '../fixtures/make-compat.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const recorded = JSON.parse(readFileSync(join(FIXTURES, 'compat', '0.1.0', 'scores.json'), 'utf8')) as CompatScores;

/** The data file's rows as raw values by field (libsvm: `idx:val` per field; libffm: the list of `idx:val` per field). */
function rawRows(name: string, format: string): RawRow[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const toks = line.trim().split(/\s+/).slice(1);
      if (format === 'libsvm') return Object.fromEntries(toks.map((t, k) => [`f${k}`, t]));
      const row: Record<string, string[]> = {};
      for (const t of toks) {
        const c = t.indexOf(':');
        (row[`f${t.slice(0, c)}`] ??= []).push(t.slice(c + 1));
      }
      return row;
    });
}

function worst(got: ArrayLike<number>, want: readonly number[]): { d: number; at: number } {
  assert.equal(got.length, want.length, 'rows scored');
  let d = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const x = Math.abs(got[i] - want[i]);
    if (!(x <= d)) [d, at] = [x, i];
  }
  return { d, at };
}

/** Scores of every path for one file's contents. */
async function paths(file: ModelFileContents, rows: RawRow[], data: string): Promise<{ rows: Float32Array; chunks: Float32Array; web: Float32Array; onnx: Float32Array; weightInputs: string[] }> {
  const p = await Predictor.fromContents(file, '<compat>');
  const byRows = await p.predictRows(rows);
  // Chunks of a reader opened with its defaults (weights read), not the model's settings: the predictor drops them.
  const format = (file.meta.data as { format: DataFormat }).format;
  const chunks: number[] = [];
  for await (const b of p.predictChunks((await openReader(format, data, { numFields: 3 })).chunks())) chunks.push(...b.probs);
  await p.close();
  const wm = await WebModel.load(encodeModelFile(file.model, file.meta, file.tensors));
  const web = await wm.score(rows);
  const exported = exportOnnx(file);
  const session = await ort.InferenceSession.create(exported.bytes);
  const res = await session.run(wm.onnxFeeds(wm.toIds(rows), ort) as Record<string, ort.Tensor>);
  await session.release();
  wm.dispose();
  return { rows: byRows, chunks: Float32Array.from(chunks), web, onnx: res[exported.output].data as Float32Array, weightInputs: exported.inputs.filter((x) => x.kind === 'weight').map((x) => x.name) };
}

for (const name of ['full-fm', 'dhash-dcnv2']) {
  test(`0.1.0 ${name}: row encoder, browser encoder and exported graph score as 0.1.0 did (weights 1); stamped valueWeights, all take the weights`, async () => {
    const m = recorded.models[name];
    const file = readModelFile(join(FIXTURES, 'compat', '0.1.0', `${name}.bhm`));
    assert.equal((file.meta.data as { reader: Record<string, unknown> }).reader.valueWeights, undefined, 'a 0.1.0 file records no valueWeights');
    const rows = rawRows(m.data, m.format);
    const old = await paths(file, rows, join(FIXTURES, m.data));
    assert.deepEqual(old.weightInputs, [], `${name}: the exported graph of a 0.1.0 file takes no weights (0.1.0 ignored them)`);
    for (const [path, got, tol] of [['Predictor.predictRows', old.rows, 1e-6], ['Predictor.predictChunks of a weighted reader', old.chunks, 1e-6], ['WebModel.score', old.web, 1e-6], ['exported ONNX graph', old.onnx, 1e-5]] as const) {
      const w = worst(got, m.scores);
      assert.ok(w.d <= tol, `${name} via ${path}: row ${w.at} scores ${got[w.at]}, 0.1.0 recorded ${m.scores[w.at]} (|Δ| ${w.d})`);
    }
    // The same weights and config, stamped as this version writes files: the weights now reach the model everywhere.
    const meta = { ...file.meta, data: { ...(file.meta.data as object), reader: { ...(file.meta.data as { reader: object }).reader, valueWeights: true } } };
    const stamped = decodeModelFile(encodeModelFile(file.model, meta, file.tensors));
    const now = await paths(stamped, rows, join(FIXTURES, m.data));
    assert.deepEqual(now.weightInputs, ['f0_weight', 'f1_weight', 'f2_weight'], `${name}: a file with valueWeights exports weight inputs`);
    const moved = worst(now.rows, m.scores);
    assert.ok(moved.d > 1e-3, `${name}: with valueWeights the weights must change some score (max |Δ| ${moved.d})`);
    for (const [path, got, tol] of [['Predictor.predictChunks', now.chunks, 1e-6], ['WebModel.score', now.web, 1e-6], ['exported ONNX graph', now.onnx, 1e-5]] as const) {
      const w = worst(got, Array.from(now.rows));
      assert.ok(w.d <= tol, `${name} with valueWeights via ${path}: row ${w.at} scores ${got[w.at]}, the Predictor ${now.rows[w.at]} (|Δ| ${w.d})`);
    }
  });
}
