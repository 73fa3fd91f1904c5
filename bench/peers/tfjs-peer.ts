// TensorFlow.js peer (tfjs-core + tfjs-backend-wasm, the pure-JS/WASM stack bhembed competes with in Node):
// trains the model of a peer dump on bhembed's exact rows and prints ONE JSON line of measurements.
// Plain tfjs only; the one workaround is the embedding gradient (below), which the WASM backend cannot build itself.
//
//   node dist/bench/peers/tfjs-peer.js DUMP_DIR [--epochs N] [--batch1 N] [--tuned]
//
// --tuned: tfjs-backend-wasm runs a transposed MatMul ~10× slower than a plain one (measured 530 ms vs 48 ms
// for 4096×400·400×400), and the stock MatMul gradient uses transposed MatMuls. The tuned leg re-registers that
// gradient with an explicit Transpose + plain MatMul and avoids fused MatMul, so the peer is not sandbagged.

import { createRequire, register } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import { logLoss, readMeta, readSplit, rocAuc, type PeerMeta } from './dump.js';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core') as typeof TfCore;
const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;

type Tensor = TfCore.Tensor;
type Variable = TfCore.Variable;

/**
 * Sum of K gathered rows per sample, with a hand-written gradient: tfjs derives Gather's gradient through
 * UnsortedSegmentSum, which tfjs-backend-wasm 4.x does not implement, so the table gradient is a ScatterNd
 * (duplicate indices are summed) of the output gradient repeated K times.
 */
function bagSum(table: Variable, idx: TfCore.Tensor2D, numRows: number): Tensor {
  const [b, k] = idx.shape;
  const dim = table.shape[1] as number;
  const f = tf.customGrad(((t: Tensor) => {
    const flat = tf.reshape(idx, [b * k]);
    const g = tf.gather(t, flat); // (B·K, dim)
    const value = tf.sum(tf.reshape(g, [b, k, dim]), 1);
    const gradFunc = (dy: Tensor): Tensor => {
      const rep = tf.reshape(tf.tile(tf.expandDims(dy, 1), [1, k, 1]), [b * k, dim]);
      return tf.scatterND(tf.reshape(idx, [b * k, 1]), rep, [numRows, dim]);
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table) as Tensor;
}

interface Net {
  embs: Variable[];
  lins: Variable[];
  linBias: Variable[];
  weights: Variable[];
  biases: Variable[];
}

function glorot(fanIn: number, fanOut: number, seed: number): Variable {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  return tf.variable(tf.randomUniform([fanIn, fanOut], -lim, lim, 'float32', seed));
}

function buildNet(meta: PeerMeta): Net {
  const std = meta.init.embeddingStd;
  let seed = meta.seed;
  const embs = meta.fields.map((fd) => tf.variable(tf.randomNormal([fd.numRows, meta.dim], 0, std, 'float32', seed++)));
  // DeepFM first order: zero-initialised dim-1 tables and a separate linear bias (meta.init.linear).
  const lins = meta.arch === 'deepfm' ? meta.fields.map((fd) => tf.variable(tf.zeros([fd.numRows, 1]))) : [];
  const linBias = meta.arch === 'deepfm' ? [tf.variable(tf.zeros([1]))] : [];
  const weights: Variable[] = [];
  const biases: Variable[] = [];
  let width = meta.dim * meta.fields.length;
  for (const h of [...meta.mlp, 1]) {
    weights.push(glorot(width, h, seed++));
    biases.push(tf.variable(tf.zeros([h])));
    width = h;
  }
  return { embs, lins, linBias, weights, biases };
}

/** Per-field index tensors (B × K int32) from a (B × ΣK) row block. */
function fieldIndices(meta: PeerMeta, rows: Int32Array, b: number): TfCore.Tensor2D[] {
  const S = meta.rowsPerSample;
  return meta.fields.map((fd) => {
    const k = fd.rowsPerValue;
    const a = new Int32Array(b * k);
    for (let i = 0; i < b; i++) a.set(rows.subarray(i * S + fd.offset, i * S + fd.offset + k), i * k);
    return tf.tensor2d(a, [b, k], 'int32');
  });
}

/** MatMul gradient through explicit transposes (see --tuned). Only the no-transpose case is used here. */
function registerTransposeMatMulGrad(): void {
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: TfCore.NamedAttrMap | undefined) => {
      const [a, b] = saved;
      const g = dy as Tensor;
      if (attrs?.transposeA || attrs?.transposeB || a.rank !== 2 || b.rank !== 2) {
        throw new Error('tuned MatMul gradient: only 2-D, untransposed MatMul is supported');
      }
      return { a: () => tf.matMul(g, tf.transpose(b)), b: () => tf.matMul(tf.transpose(a), g) };
    },
  });
}

let TUNED = false;

function forward(meta: PeerMeta, net: Net, idx: TfCore.Tensor2D[], training = false): Tensor {
  const vs = idx.map((ix, f) => bagSum(net.embs[f], ix, meta.fields[f].numRows));
  let h: Tensor = tf.concat(vs, 1);
  const L = net.weights.length;
  for (let l = 0; l < L - 1; l++) {
    h = TUNED && training
      ? tf.relu(tf.add(tf.matMul(h, net.weights[l]), net.biases[l]))
      : tf.fused.matMul({ a: h, b: net.weights[l], bias: net.biases[l], activation: 'relu' });
  }
  let logit: Tensor = tf.reshape(tf.add(tf.matMul(h, net.weights[L - 1]), net.biases[L - 1]), [-1]);
  if (meta.arch === 'deepfm') {
    const first = idx.map((ix, f) => bagSum(net.lins[f], ix, meta.fields[f].numRows));
    const v = tf.stack(vs, 1); // (B, F, dim)
    const s = tf.sum(v, 1);
    const fm = tf.mul(0.5, tf.sum(tf.sub(tf.mul(s, s), tf.sum(tf.mul(v, v), 1)), 1));
    logit = tf.add(tf.add(logit, tf.add(tf.reshape(tf.addN(first), [-1]), net.linBias[0])), fm);
  }
  return logit;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args[0];
  if (!dir) throw new Error('usage: tfjs-peer.js DUMP_DIR [--epochs N] [--batch1 N]');
  const opt = (name: string): number | undefined => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const meta = readMeta(dir);
  const epochs = opt('--epochs') ?? meta.epochs;
  const batch1 = opt('--batch1') ?? 2000;

  // Gradients live only in tfjs-core's ESM dist (see tfjs-resolve-hook.ts); they register into the global
  // registry that the node bundle's engine shares.
  register(new URL('./tfjs-resolve-hook.js', import.meta.url));
  await import(pathToFileURL(require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')).href);
  TUNED = args.includes('--tuned');
  if (TUNED) registerTransposeMatMulGrad();
  wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threads = wasm.getThreadsCount();

  const tLoad = performance.now();
  const train = readSplit(dir, meta, 'train');
  const test = readSplit(dir, meta, 'test');
  const loadS = (performance.now() - tLoad) / 1000;

  const net = buildNet(meta);
  const optimizer = tf.train.adam(meta.lr, meta.optimizer.beta1, meta.optimizer.beta2, meta.optimizer.eps);
  const vars = [...net.embs, ...net.lins, ...net.linBias, ...net.weights, ...net.biases];
  const B = meta.batch;
  const S = meta.rowsPerSample;
  const n = train.n;
  const perm = new Uint32Array(n);
  const rows = new Int32Array(B * S);
  const y = new Float32Array(B);
  let state = meta.seed >>> 0;
  // Seeded shuffle (xorshift32); the peers each shuffle with their own generator, as bhembed does.
  const rnd = (m: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % m;
  };
  let lastLoss = NaN;
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = rnd(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    let sum = 0;
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      train.gather(perm, s, b, rows);
      for (let j = 0; j < b; j++) y[j] = train.labels[perm[s + j]];
      const idx = fieldIndices(meta, rows, b);
      const yt = tf.tensor1d(y.subarray(0, b));
      const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(yt, forward(meta, net, idx, true)) as TfCore.Scalar, true, vars);
      sum += (loss as TfCore.Scalar).dataSync()[0] * b;
      tf.dispose([loss as Tensor, yt, ...idx]);
    }
    lastLoss = sum / n;
  }
  const trainS = (performance.now() - t0) / 1000;

  const m = test.n;
  const probs = new Float32Array(m);
  const all = new Uint32Array(m);
  for (let i = 0; i < m; i++) all[i] = i;
  const t1 = performance.now();
  for (let s = 0; s < m; s += 4096) {
    const b = Math.min(4096, m - s);
    const block = new Int32Array(b * S);
    test.gather(all, s, b, block);
    const p = tf.tidy(() => tf.sigmoid(forward(meta, net, fieldIndices(meta, block, b))));
    probs.set(p.dataSync(), s);
    p.dispose();
  }
  const inferS = (performance.now() - t1) / 1000;
  const k1 = Math.min(batch1, m);
  const one = new Int32Array(S);
  const t2 = performance.now();
  for (let i = 0; i < k1; i++) {
    test.gather(all, i, 1, one);
    const p = tf.tidy(() => tf.sigmoid(forward(meta, net, fieldIndices(meta, one, 1))));
    p.dataSync();
    p.dispose();
  }
  const infer1S = (performance.now() - t2) / 1000;

  const out = {
    leg: TUNED ? 'tfjs-tuned' : 'tfjs',
    config: meta.name,
    threads,
    framework: `tfjs-core ${tf.version_core} + wasm${simd ? ' simd' : ''}`,
    embeddingOptimizer: 'Adam (dense; tfjs has no sparse Adam)',
    epochs,
    trainSamples: n * epochs,
    trainSeconds: trainS,
    trainSamplesPerSec: (n * epochs) / trainS,
    inferSamplesPerSec4096: m / inferS,
    inferSamplesPerSec1: k1 / infer1S,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    auc: rocAuc(test.labels, probs),
    logloss: logLoss(test.labels, probs),
    finalTrainLoss: lastLoss,
    loadSeconds: loadS,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
