// The exported ONNX graph is a contract: for every architecture and every index method (BH succession, skip and
// dense; hash; qr; dhash; full via LabelEncoder; hybrid via LabelEncoder + Where), onnxruntime-node's scores equal
// the Predictor's on the same rows within 1e-6, with hash ids ≥ 2^63 among them, multi-valued fields, value weights,
// dense inputs and folded batch norm; and models whose fields have their own dims (one table per width).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createIndexer } from '../../src/embedding/registry.js';
import { exportOnnx, type ExportedModel } from '../../src/export/onnx-model.js';
import { GraphBuilder } from '../../src/export/graph.js';
import { indexRows } from '../../src/export/index-graph.js';
import { encodeOnnxModel } from '../../src/kernels/onnx-encode.js';
import { createOps, type Ops } from '../../src/kernels/index.js';
import { Predictor } from '../../src/serve/predictor.js';
import { EXPORT_CASES, exportFields, exportModelFile, exportRows, weightedFlags, type ExportRows } from '../export-models.js';

/** The ONNX feeds for rows, by the exported graph's input list. */
export function feedsOf(m: ExportedModel, rows: ExportRows): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const x of m.inputs) {
    if (x.kind === 'dense') feeds[x.name] = new ort.Tensor('float32', rows.dense, [rows.n, rows.dense.length / rows.n]);
    else if (x.kind === 'count') feeds[x.name] = new ort.Tensor('int64', rows.ids[x.field].counts as BigInt64Array, [rows.n]);
    else if (x.kind === 'weight') {
      const f = rows.ids[x.field];
      feeds[x.name] = new ort.Tensor('float32', f.weights as Float32Array, f.L > 0 ? [rows.n, f.L] : [rows.n]);
    }
    else {
      const f = rows.ids[x.field];
      feeds[x.name] = new ort.Tensor('int64', f.values, f.L > 0 ? [rows.n, f.L] : [rows.n]);
    }
  }
  return feeds;
}

let ops: Ops;
before(async () => {
  ops = await createOps('auto');
});

describe('index graphs give the indexers rows', () => {
  test('every method on ids spanning the int64 sign bit', async () => {
    const rows = exportRows(200, 3);
    const fields = exportFields();
    const g = new GraphBuilder();
    const outs: string[] = [];
    fields.forEach((f, i) => outs.push(g.op('Identity', [indexRows(g, f.index, createIndexer(f.index), `x${i}`, 1000 * i)], undefined, { out: `r${i}` })));
    const bytes = encodeOnnxModel(
      { name: 'index', nodes: g.nodes, initializers: g.initializers, inputs: fields.map((_, i) => ({ name: `x${i}`, dims: [`V${i}`], type: 'int64' as const })), outputs: outs.map((o, i) => ({ name: o, dims: [`V${i}`, `K${i}`], type: 'int64' as const })) },
      18,
      { domains: { 'ai.onnx.ml': 3 } },
    );
    const session = await ort.InferenceSession.create(bytes);
    const feeds: Record<string, ort.Tensor> = {};
    const flat = fields.map((_, i) => rows.batch.fields[i].ids);
    fields.forEach((_, i) => {
      const n = flat[i].length / 2;
      feeds[`x${i}`] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, v) => BigInt.asIntN(64, (BigInt(flat[i][2 * v + 1]) << 32n) | BigInt(flat[i][2 * v]))), [n]);
    });
    const res = await session.run(feeds);
    let big = 0;
    fields.forEach((f, i) => {
      const ix = createIndexer(f.index);
      const n = flat[i].length / 2;
      const want = new Int32Array(n * ix.rowsPerValue);
      ix.index(flat[i], n, want);
      const got = Array.from(res[`r${i}`].data as BigInt64Array, (x) => Number(x) - 1000 * i);
      assert.deepEqual(got, Array.from(want), `field ${f.name} (${f.index.method})`);
      for (let v = 0; v < n; v++) if (flat[i][2 * v + 1] >= 0x80000000) big++;
    });
    assert.ok(big > 100, `ids ≥ 2^63 among the rows (${big})`);
    await session.release();
  });
});

describe('exported graph scores equal the Predictor', () => {
  const cases = [...EXPORT_CASES.map((c) => ({ ...c, single: false })), ...EXPORT_CASES.map((c) => ({ ...c, single: true }))];
  for (const { arch, batchNorm, single, mixed } of cases) {
    test(`${arch}${mixed ? ' with fields of dims 2, 3, 4 and 8' : ''}${batchNorm ? ' with batch norm' : ''}${single ? ', single-valued fields only (one Gather, MatMul fusion)' : ''}`, async () => {
      const rows = exportRows(48, 11, single);
      const file = await exportModelFile(ops, arch, 100 + arch.length, batchNorm, single, mixed);
      if (mixed === true) assert.deepEqual(file.tensors.filter((t) => t.name.endsWith('.table') && t.name.startsWith('emb')).map((t) => t.shape[1]), [2, 4, 8, 3], 'one table per width');
      const exported = exportOnnx(file, { weighted: weightedFlags(single) });
      assert.deepEqual(
        exported.inputs.filter((x) => x.kind !== 'ids').map((x) => x.name),
        single ? ['dense'] : ['user_weight', 'tags_count', 'tags_weight', 'kw_count', 'dense'],
      );
      // (mixed: per table; the width-8 table's fields, dev and cat, are single-valued and unweighted)
      assert.equal(Buffer.from(exported.bytes).includes('_fusion'), single || mixed === true, 'the fused single-valued path is taken exactly when every field of a table is single-valued');
      const predictor = await Predictor.fromContents(file, `${arch}.bhm`);
      const want = (await predictor.model.predict(rows.batch)).slice();
      await predictor.close();
      const session = await ort.InferenceSession.create(exported.bytes);
      const got = (await session.run(feedsOf(exported, rows)))[exported.output].data as Float32Array;
      await session.release();
      assert.equal(got.length, rows.n);
      let maxDiff = 0;
      for (let i = 0; i < rows.n; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      assert.ok(maxDiff <= 1e-6, `max |onnx − predictor| = ${maxDiff}`);
      // The scores carry a ranking (a constant graph would pass the comparison on a constant model).
      assert.ok(Math.max(...want) - Math.min(...want) > 0.05, `spread ${Math.max(...want) - Math.min(...want)}`);
    });
  }
});

after(() => undefined);
