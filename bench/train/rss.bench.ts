// Peak memory against the bar "peak RSS ≤ 1.5 × (parameters + optimizer state + one batch) + fixed runtime
// overhead": measures the fixed overhead (the Trainer on a negligible model: Node, V8, onnxruntime, the WASM
// kernels, worker threads) in a child process, then trains a model in another child and reports its peak RSS next to the model's
// own bytes (dense weights + grads + Adam moments, embedding tables + row-wise Adam state, and one batch: the
// batch buffers, embedding output and the MLP activations/gradients of maxBatch rows).
// Where the frappe-sized peak above the model's own bytes goes (measured by RSS after each phase): onnxruntime's CPU
// arena for the training-step graph (~21 MB: the tower runs a batch of 4096 as runs of 1024 rows; ~49 MB in one
// run), the inference graph's (~3 MB), and onnxruntime-node's copies of every run's outputs (DW_i, DX: ~7 MB per
// step), which the provider frees with a young-generation collection every 4 MB (src/kernels/ort.ts; left to V8
// they reached ~30 MB per thread). The JIT's compiled code and compiler memory (~20 MB) count in the fixed term.
// Run: node dist/bench/train/rss.bench.js [--fields 10] [--dim 10] [--hash-rows N] [--threads 1].
// Writes bench/results/rss.json.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Columns as Dataset } from '../../src/data/batches/columns.js';
import { Trainer } from '../../src/train/trainer.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const FIELDS = opt('--fields', 10);
const DIM = opt('--dim', 10);
const THREADS = opt('--threads', 1);
/** > 0: each field a hashed table of this many rows (large, full-vocabulary-like tables) instead of BH. */
const HASH_ROWS = opt('--hash-rows', 0);
const B = 4096;
const MLP = [400, 400, 400];
const MB = 1024 * 1024;

function config(): ModelConfig {
  return {
    arch: 'dnn',
    dim: DIM,
    mlp: MLP,
    fields: Array.from({ length: FIELDS }, () => ({
      index: HASH_ROWS > 0 ? { method: 'hash' as const, rows: HASH_ROWS } : { method: 'bh' as const, codeBits: 64, blockBits: 4, strategy: 'succession' as const },
    })),
  };
}

function synthetic(n: number): Dataset {
  const rng = new Rng(1);
  const fields = Array.from({ length: FIELDS }, () => ({ ids: new Uint32Array(2 * n) }));
  const labels = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < FIELDS; f++) fields[f].ids[2 * r] = rng.nextU32();
    labels[r] = rng.next() < 0.3 ? 1 : 0;
  }
  return { rows: n, labels, fields };
}

const maxRssMB = (): number => process.resourceUsage().maxRSS / 1024;

// The same code paths on a negligible model (1 hashed field of 16 rows, MLP [4], batch 16), same thread count:
// Node, V8's heap and JIT code, onnxruntime and its sessions, the WASM kernels and, with threads, the workers.
// `warm` runs them long enough (5 epochs of 256 steps, a predict after each) for V8's optimizing compilers to
// compile the hot JS and WASM functions, as they do in any real training run: measured +20 MB of compiled code and
// compiler memory on 1 thread (gone with --liftoff-only --no-opt), which a 2-epoch run of 4 steps never reaches.
// That is the fixed overhead we state; the cold figure is printed beside it.
async function childFixed(warm: boolean): Promise<void> {
  const tiny: ModelConfig = { arch: 'dnn', dim: 2, mlp: [4], fields: [{ index: { method: 'hash', rows: 16 } }] };
  const rng = new Rng(2);
  const n = warm ? 4096 : 64;
  const epochs = warm ? 5 : 2;
  const data: Dataset = { rows: n, labels: Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)), fields: [{ ids: Uint32Array.from({ length: 2 * n }, () => rng.nextU32()) }] };
  const tr = await Trainer.create(tiny, { batchSize: 16, epochs: 1, earlyStopping: false, threads: THREADS });
  for (let e = 0; e < epochs; e++) {
    await tr.fit(data);
    await tr.predict(data);
  }
  await tr.dispose();
  console.log(JSON.stringify({ rssMB: maxRssMB() }));
}

async function childModel(): Promise<void> {
  const data = synthetic(B * 8);
  const dataMB = (data.labels.byteLength + data.fields.reduce((s, f) => s + f.ids.byteLength, 0)) / MB;
  const tr = await Trainer.create(config(), { batchSize: B, epochs: 1, earlyStopping: false, threads: THREADS, optim: { lr: 1e-3, embeddingOptimizer: 'adam' } });
  await tr.fit(data);
  await tr.predict({ ...data, rows: B * 2 });
  const m = tr.model;
  const dense = m.params.size;
  const table = (m.emb?.table.length ?? 0) + (m.lin?.table.length ?? 0);
  // weights + grads + 2 Adam moments (dense); table + 2 row-wise Adam moments (embeddings).
  const paramsMB = (4 * (4 * dense + 3 * table)) / MB;
  const width = m.emb?.width ?? 0;
  const rowsPerSample = m.layout.capacity / B;
  // One batch, framework-neutral: ids + labels, the embedding lookups (one row index per block), the embedding
  // output and its gradient, every MLP activation and its gradient.
  const acts = MLP.reduce((s, h) => s + h, 0) + 1;
  const batchMB = (4 * B * (2 * FIELDS + 1 + rowsPerSample + 2 * width + 2 * acts)) / MB;
  await tr.dispose();
  console.log(JSON.stringify({ rssMB: maxRssMB(), paramsMB, batchMB, dataMB }));
}

const mode = args[0];
if (mode === '--child-fixed') await childFixed(true);
else if (mode === '--child-fixed-cold') await childFixed(false);
else if (mode === '--child-model') await childModel();
else {
  const self = fileURLToPath(import.meta.url);
  const run = (m: string): Record<string, number> => {
    const r = spawnSync(process.execPath, [self, m, ...args], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${m} failed: ${r.stderr}`);
    return JSON.parse(line) as Record<string, number>;
  };
  const cold = run('--child-fixed-cold');
  const fixed = run('--child-fixed');
  const model = run('--child-model');
  const budget = 1.5 * (model.paramsMB + model.batchMB) + fixed.rssMB + model.dataMB;
  printTable(
    ['item', 'MB'],
    [
      [`fixed runtime, cold (tiny model, 8 steps, ${THREADS} thread${THREADS > 1 ? 's' : ''})`, cold.rssMB],
      [`fixed runtime, warm (tiny model after JIT tier-up: the stated overhead)`, fixed.rssMB],
      ['parameters + optimizer state', model.paramsMB],
      ['one batch (inputs, lookups, activations + gradients)', model.batchMB],
      ['training data held by the bench (not the engine)', model.dataMB],
      ['budget: 1.5 × (params + batch) + fixed + data', budget],
      [`peak RSS, training + predict (${THREADS} thread${THREADS > 1 ? 's' : ''})`, model.rssMB],
      ['peak / budget', model.rssMB / budget],
      ['peak / budget with the cold fixed term', model.rssMB / (budget - fixed.rssMB + cold.rssMB)],
    ],
  );
  writeJson('bench/results/rss.json', { machine: machine(), config: config(), batch: B, threads: THREADS, fixed, fixedCold: cold, model, budgetMB: budget, ratio: model.rssMB / budget });
}
