// Sample weights (a weight column): a row of integer weight w must count exactly as w copies of it — in the metrics
// (weighted AUC and log loss against a brute-force count, and against the duplicated rows), in one training step's
// loss and gradients (dense and embedding rows, against the duplicated batch), through the batch gathers (memory and
// the stream's shuffle buffer), and in whole runs from files (weighted file = duplicated file; streamed = in memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { meanScale } from '../../../src/core/batch.js';
import { batchBufferOf, gatherRows, shapeOf, type Columns } from '../../../src/data/batches/columns.js';
import { columnsFromRows, MemorySource, type PlainRow } from '../../../src/data/batches/memory.js';
import { StreamSource } from '../../../src/data/batches/stream.js';
import { createOps } from '../../../src/kernels/index.js';
import { createModel } from '../../../src/models/registry.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { BinaryMetrics, GroupAuc } from '../../../src/train/metrics.js';
import { loadRunData, trainModel, type ModelOptions } from '../../../src/experiment/pipeline.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { tempDir } from '../../temp-dir.js';

/** Weighted AUC and log loss by definition: every (positive, negative) pair weighs w_i·w_j, ties ½. */
function bruteForce(p: number[], y: number[], w: number[]): { auc: number; logloss: number } {
  let num = 0;
  let den = 0;
  let loss = 0;
  let wsum = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
    loss -= w[i] * (y[i] === 1 ? Math.log(q) : Math.log(1 - q));
    wsum += w[i];
    if (y[i] !== 1) continue;
    for (let j = 0; j < p.length; j++) {
      if (y[j] === 1) continue;
      const pi = Math.fround(p[i]);
      const pj = Math.fround(p[j]);
      num += w[i] * w[j] * (pi > pj ? 1 : pi === pj ? 0.5 : 0);
      den += w[i] * w[j];
    }
  }
  return { auc: num / den, logloss: loss / wsum };
}

test('metrics: weighted AUC and log loss equal a brute-force pair count, and the rows repeated w times', () => {
  const rng = new Rng(11);
  const n = 300;
  // Scores on a coarse grid (many ties across classes), integer weights 0..4 and fractional ones.
  const p = Array.from({ length: n }, () => Math.round(rng.next() * 20) / 20);
  const y = p.map((x) => (rng.next() < 0.2 + 0.6 * x ? 1 : 0));
  const wi = p.map(() => rng.int(5));
  const wf = p.map(() => rng.next() * 3);
  for (const w of [wi, wf]) {
    // A small chunk makes several sorted runs merge (the weighted run path).
    for (const chunk of [7, 65536]) {
      const m = new BinaryMetrics(chunk);
      m.add(p.slice(0, 100), y.slice(0, 100), 100); // unweighted rows first: they weigh 1
      m.reset();
      m.add(p.slice(0, 150), y.slice(0, 150), 150, w.slice(0, 150));
      m.add(p.slice(150), y.slice(150), n - 150, w.slice(150));
      const r = m.result();
      const b = bruteForce(p, y, w);
      assert.ok(Math.abs(r.auc - b.auc) < 1e-12, `AUC ${r.auc} vs brute force ${b.auc} (chunk ${chunk})`);
      assert.ok(Math.abs(r.logloss - b.logloss) < 1e-12, `logloss ${r.logloss} vs ${b.logloss}`);
      assert.equal(r.n, n);
      assert.ok(Math.abs(r.weight - w.reduce((a, c) => a + c, 0)) < 1e-9);
    }
  }
  // Integer weights: the same as every row repeated w times (weight 0: the row is gone).
  const dp: number[] = [];
  const dy: number[] = [];
  p.forEach((x, i) => {
    for (let k = 0; k < wi[i]; k++) {
      dp.push(x);
      dy.push(y[i]);
    }
  });
  const dup = new BinaryMetrics();
  dup.add(dp, dy);
  const wm = new BinaryMetrics(16);
  wm.add(p, y, n, wi);
  const a = dup.result();
  const c = wm.result();
  assert.ok(Math.abs(a.auc - c.auc) < 1e-12 && Math.abs(a.logloss - c.logloss) < 1e-12, `${JSON.stringify(a)} vs ${JSON.stringify(c)}`);
  // Rows added unweighted before a weighted add keep weight 1.
  const mixed = new BinaryMetrics(5);
  mixed.add(p.slice(0, 40), y.slice(0, 40), 40);
  mixed.add(p.slice(40), y.slice(40), n - 40, wi.slice(40));
  const bm = bruteForce(p, y, [...Array(40).fill(1), ...wi.slice(40)]);
  assert.ok(Math.abs(mixed.result().auc - bm.auc) < 1e-12);
  assert.throws(() => new BinaryMetrics().add([0.5], [1], 1, [-1]), /weight 0 is -1; weights must be finite and ≥ 0/);
  assert.throws(() => new BinaryMetrics().add([0.5], [1], 1, [NaN]), /weight 0 is NaN/);
  // Group AUC with integer weights = group AUC of the repeated rows.
  const gid = new Uint32Array(2 * n);
  p.forEach((_, i) => (gid[2 * i] = i % 7));
  const dg: number[] = [];
  p.forEach((_, i) => {
    for (let k = 0; k < wi[i]; k++) dg.push(i % 7, 0);
  });
  const g1 = new GroupAuc();
  g1.add(p, y, gid, n, wi);
  const g2 = new GroupAuc();
  g2.add(dp, dy, dg, dp.length);
  assert.ok(Math.abs(g1.result().gauc - g2.result().gauc) < 1e-12);
});

/** Rows with random fields (one multi-valued), dense inputs and an integer weight 0..3 each. */
function plainRows(rng: Rng, n: number): PlainRow[] {
  return Array.from({ length: n }, () => ({
    label: rng.next() < 0.4 ? 1 : 0,
    values: [`a${rng.int(9)}`, `b${rng.int(30)}`, Array.from({ length: 1 + rng.int(3) }, () => `t${rng.int(12)}`)],
    dense: [rng.normal(), rng.normal()],
    sampleWeight: rng.int(4),
  }));
}

function duplicated(rows: PlainRow[]): PlainRow[] {
  return rows.flatMap((r) => Array.from({ length: r.sampleWeight ?? 1 }, () => ({ ...r, sampleWeight: undefined })));
}

/** Each touched embedding row's gradient, by row number (the order of uniqueRows is the batch's, not fixed). */
function rowGrads(bag: { nUnique: number; uniqueRows: Int32Array; gradRows: Float32Array; dim: number }): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let k = 0; k < bag.nUnique; k++) out.set(bag.uniqueRows[k], Array.from(bag.gradRows.subarray(k * bag.dim, (k + 1) * bag.dim)));
  return out;
}

for (const arch of ['fm', 'deepfm', 'dcnv2'] as const) {
  test(`one training step (${arch}): weighted loss and gradients equal those of the batch with rows repeated w times`, async () => {
    const rng = new Rng(arch.length);
    const rows = plainRows(rng, 40);
    const weighted = columnsFromRows(rows, { multiValued: [false, false, true] });
    const dup = columnsFromRows(duplicated(rows), { multiValued: [false, false, true] });
    assert.ok(weighted.sampleWeights && dup.sampleWeights === undefined);
    const config: ModelConfig = {
      arch,
      dim: 4,
      mlp: [8, 4],
      crossLayers: 1,
      numDense: 2,
      initStd: 0.3,
      seed: 9,
      fields: [{ index: { method: 'hash', rows: 7 } }, { index: { method: 'bh', codeBits: 8, blockBits: 2, strategy: 'succession' } }, { index: { method: 'qr', remainder: 5, quotient: 3 }, pooling: 'mean' }],
    };
    // WASM ops: the duplicated batch trains through the fused tower, the weighted one through the unfused path.
    const ops = await createOps('auto');
    const model = createModel(config, { ops, maxBatch: dup.rows });
    const grab = async (c: Columns): Promise<{ loss: number; dense: Float32Array; emb: Map<number, number[]>; lin: Map<number, number[]> | null }> => {
      const b = batchBufferOf(shapeOf(c), c.rows);
      gatherRows(c, null, 0, c.rows, b);
      const loss = await model.forwardBackward(b, { scale: meanScale(b.sampleWeights, b.size), dropoutSeed: 1 });
      return { loss, dense: model.params.grad.slice(), emb: rowGrads(model.emb!), lin: model.lin ? rowGrads(model.lin) : null };
    };
    const a = await grab(weighted);
    const d = await grab(dup);
    assert.ok(Math.abs(a.loss - d.loss) <= 1e-4 * Math.abs(d.loss), `loss Σw·l ${a.loss} vs repeated rows ${d.loss}`);
    const close = (x: number, z: number, what: string): void => assert.ok(Math.abs(x - z) <= 2e-6 + 1e-4 * Math.abs(z), `${what}: ${x} vs ${z}`);
    for (let i = 0; i < d.dense.length; i++) close(a.dense[i], d.dense[i], `dense gradient ${i}`);
    let nonzero = 0;
    for (const [which, ga, gd] of [['emb', a.emb, d.emb], ['linear', a.lin, d.lin]] as const) {
      if (gd === null || ga === null) continue;
      // Rows touched only by weight-0 rows have zero gradient in the weighted batch and are absent from the other.
      for (const [row, g] of ga) g.forEach((x, j) => close(x, gd.get(row)?.[j] ?? 0, `${which} row ${row}[${j}]`));
      for (const [row, g] of gd) g.forEach((x, j) => close(ga.get(row)?.[j] ?? NaN, x, `${which} row ${row}[${j}]`));
      nonzero += gd.size;
    }
    assert.ok(nonzero > 10);
    model.dispose();
  });
}

test('batches: memory and stream (shuffle buffer) carry each row\'s sample weight with it', async () => {
  const rng = new Rng(21);
  const rows = plainRows(rng, 500).map((r, i) => ({ ...r, values: [`r${i}`, ...r.values.slice(1)], sampleWeight: (i % 5) * 0.5 }));
  const cols = columnsFromRows(rows, { multiValued: [false, false, true] });
  const rowOf = (c: Columns): Map<string, number> => {
    const m = new Map<string, number>();
    for (let i = 0; i < c.rows; i++) m.set(`${c.fields[0].ids[2 * i]}:${c.fields[0].ids[2 * i + 1]}`, (c.sampleWeights as Float32Array)[i]);
    return m;
  };
  const want = rowOf(cols);
  const chunks: Columns[] = [];
  for (let s = 0; s < cols.rows; s += 37) {
    const b = batchBufferOf(shapeOf(cols), 37);
    gatherRows(cols, null, s, Math.min(37, cols.rows - s), b);
    chunks.push({ rows: b.size, labels: b.labels.slice(0, b.size), fields: b.fields, numDense: 2, dense: b.dense, sampleWeights: b.sampleWeights });
  }
  const sources = [
    new MemorySource(cols, { shuffle: true, seed: 2 }),
    new StreamSource({ shape: shapeOf(cols), pass: async function* () { yield* chunks; }, shuffleBuffer: 64, seed: 3 }),
  ];
  for (const src of sources) {
    const got = new Map<string, number>();
    const out = batchBufferOf(src.shape, 50);
    for (let k = 0; k < 2; k++) {
      let n: number;
      while ((n = await src.next(out)) > 0) for (const [key, w] of rowOf({ ...out, rows: n, fields: out.fields, labels: out.labels, numDense: 2 } as Columns)) got.set(key, w);
    }
    assert.deepEqual(got, want, src.mode);
  }
});

/** A csv with a weight column, the same rows repeated by weight, and a schema. */
function weightedFiles(): { dir: string; weighted: string; dup: string; test: string; testDup: string; schema: string } {
  const dir = tempDir('weights-');
  const rng = new Rng(5);
  const make = (n: number): string[][] =>
    Array.from({ length: n }, () => {
      const u = rng.int(40);
      const a = rng.int(6);
      const y = rng.next() < (u % 3 === 0 ? 0.7 : 0.2) + (a === 1 ? 0.2 : 0) ? 1 : 0;
      // Weights 1..3: a weight-0 row would vanish from the repeated file and change the values the planner counts.
      return [String(y), `u${u}`, `a${a}`, String(1 + rng.int(3))];
    });
  const write = (name: string, rs: string[][], repeat: boolean): string => {
    const p = join(dir, name);
    const lines = repeat ? rs.flatMap((r) => Array.from({ length: Number(r[3]) }, () => `${r.slice(0, 3).join(',')},1`)) : rs.map((r) => r.join(','));
    writeFileSync(p, `y,user,ad,w\n${lines.join('\n')}\n`);
    return p;
  };
  const tr = make(300);
  const te = make(200);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'y', categorical: ['user', 'ad'] }));
  return { dir, weighted: write('train.csv', tr, false), dup: write('train-dup.csv', tr, true), test: write('test.csv', te, false), testDup: write('test-dup.csv', te, true), schema };
}

test('a run on a weighted file equals the run on its rows repeated by weight (memory and stream, library and eval)', async () => {
  const f = weightedFiles();
  // One batch per epoch (the whole data), so the shuffle order cannot matter: the same steps up to summation order
  // (measured: |Δ| ≈ 2e-9 in test AUC/logloss; the unweighted run differs by 0.02 in AUC).
  // Hashed tables on both fields (full vocabularies count weights too: test/unit/train/weighted-counts.test.ts).
  const m: ModelOptions = { arch: 'fm', method: 'hash', compression: 2, dim: 4, epochs: 3, batchSize: 4096, lr: 0.05, optimizer: 'adam', threads: 1, seed: 1, patience: 0, fields: { user: { method: 'hash' }, ad: { method: 'hash' } } };
  const run = async (train: string, test: string, weightColumn: string | undefined, dataMode: 'memory' | 'stream', threads = 1): Promise<{ auc: number; logloss: number; loss: number[]; weight?: number }> => {
    const data = await loadRunData({ format: 'csv', train, test, schema: f.schema, dataMode, fullVocab: 'planned', ...(weightColumn ? { weightColumn } : {}) });
    assert.deepEqual(data.train.fieldNames, ['user', 'ad'], 'the weight column is not a feature');
    const out = join(f.dir, `m-${weightColumn ?? 'dup'}-${dataMode}-${threads}.bhm`);
    const { metrics } = await trainModel(data, { ...m, threads }, { out });
    return { auc: metrics.test!.auc, logloss: metrics.test!.logloss, loss: metrics.train.loss as number[], weight: metrics.test!.weight };
  };
  const dupRun = await run(f.dup, f.testDup, undefined, 'memory');
  // Not a test that cannot fail: the same file without its weights trains another model.
  const unweighted = await run(f.weighted, f.testDup, undefined, 'memory');
  assert.ok(Math.abs(unweighted.logloss - dupRun.logloss) > 1e-3, `unweighted ${unweighted.logloss} vs ${dupRun.logloss}`);
  // 2 threads: each shard's gradient is scaled by the whole batch's weight sum (the merged update = 1 thread's).
  for (const [mode, threads] of [['memory', 1], ['stream', 1], ['memory', 2]] as const) {
    const w = await run(f.weighted, f.test, 'w', mode, threads);
    assert.ok(Math.abs(w.auc - dupRun.auc) < 1e-6, `${mode} ${threads}: test AUC ${w.auc} vs repeated rows ${dupRun.auc}`);
    assert.ok(Math.abs(w.logloss - dupRun.logloss) < 1e-6, `${mode} ${threads}: test logloss ${w.logloss} vs ${dupRun.logloss}`);
    assert.ok(Math.abs(w.loss[0] - dupRun.loss[0]) < 1e-6, `${mode} ${threads}: training loss ${w.loss[0]} vs ${dupRun.loss[0]}`);
    assert.equal(w.weight, (await import('node:fs')).readFileSync(f.testDup, 'utf8').trim().split('\n').length - 1, 'the test rows\' total weight');
  }
  // A test file without the column: every row weighs 1 (and the metrics say nothing of weights).
  const noW = join(f.dir, 'test-no-w.csv');
  writeFileSync(noW, (await import('node:fs')).readFileSync(f.test, 'utf8').replace(/,[^,\n]*\n/g, '\n').replace('y,user,ad\n', 'y,user,ad\n'));
  const dn = await loadRunData({ format: 'csv', train: f.weighted, test: noW, schema: f.schema, weightColumn: 'w' });
  assert.equal(dn.train.sampleWeights, true);
  assert.equal(dn.test?.sampleWeights, false);
  assert.equal((await trainModel(dn, { ...m, epochs: 1 })).metrics.test?.weight, undefined);
  // eval weighs by the model's weight column when the file has it; the repeated file scores the same.
  const model = join(f.dir, 'm-w-memory-1.bhm');
  const ev = await bhembedInProcess(['eval', model, f.test, f.testDup, '--json', '-q']);
  assert.equal(ev.status, 0, ev.stderr);
  const [a, b] = (JSON.parse(ev.stdout) as { results: { auc: number; logloss: number; weightColumn?: string; rows: number }[] }).results;
  assert.equal(a.weightColumn, 'w');
  assert.equal(b.weightColumn, 'w', 'the repeated file has the column too (all 1)');
  assert.ok(Math.abs(a.auc - b.auc) < 1e-9 && Math.abs(a.logloss - b.logloss) < 1e-9, `${a.auc}/${a.logloss} vs ${b.auc}/${b.logloss}`);
  // predict does not read the weight column: the same probabilities whatever the weights say.
  const p1 = await bhembedInProcess(['predict', model, f.test, '-q']);
  assert.equal(p1.status, 0, p1.stderr);
  const bad = join(f.dir, 'bad-weights.csv');
  writeFileSync(bad, (await import('node:fs')).readFileSync(f.test, 'utf8').replace(/,\d\n/g, ',-5\n'));
  const p2 = await bhembedInProcess(['predict', model, bad, '-q']);
  assert.equal(p2.status, 0, p2.stderr);
  assert.equal(p2.stdout, p1.stdout);
  // …while eval and train say where a bad weight is.
  const e2 = await bhembedInProcess(['eval', model, bad, '-q']);
  assert.equal(e2.status, 2);
  assert.match(e2.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: weight column 'w' value '-5' is negative`));
  const t2 = await bhembedInProcess(['train', '--train', bad, '--format', 'csv', '--schema', f.schema, '--weight-column', 'w', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--epochs', '1', '-q']);
  assert.equal(t2.status, 2);
  assert.match(t2.stderr, /bad-weights\.csv:2: weight column 'w' value '-5' is negative \(weights are numbers ≥ 0\)/);
});
