// The onnxruntime-node seam: dense GEMM on ORT's CPU execution provider (MLAS), the only file that imports
// onnxruntime-node. One tiny Gemm model per transpose combination (encoded by onnx-encode.ts), sessions cached.
// Must not be imported eagerly: index.ts loads it with `await import()` so browsers and failed installs fall back.
//
// Copies (measured, see bench/engine): ORT's Node binding rejects typed arrays on a SharedArrayBuffer, so inputs
// that live in WASM memory are copied into private staging arrays on every call. The result is written by ORT
// straight into C when C is an ordinary array, alpha = 1 and beta = 0; otherwise into staging, then combined
// into C as alpha·Y + beta·C. The binding also returns every output as a fresh ArrayBuffer copy, even when it was
// pre-allocated (measured: a 4096×400 output allocates 6.5 MB per run), so large outputs cost a copy regardless.
// That is why dense towers (OrtDenseTower below) run as whole graphs: the inference forward and the training step
// keep their activations inside ORT and output only the logits, weight gradients and the input gradient.
// With inferPrecision 'int8' the inference forward is a different graph (onnx-encode.ts towerInt8ForwardModel):
// int8 weights baked in as constants, DynamicQuantizeMatMul per hidden layer (bench/engine/quant-gemm.bench.ts
// measured it ~3.5x the fp32 tower at batch 4096 on this VNNI/AMX CPU); training never uses it. 'int8-static' is
// the same with fixed, calibrated input scales (towerInt8ForwardModel with input quantization; the ranges come with each forward).

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as ort from 'onnxruntime-node';
import { BhembedError, ConfigError } from '../core/errors.js';
import { gemmModel, towerForwardModel, towerInt8ForwardModel, towerLayerBackwardModel, towerNames, towerStepModel, type Int8TowerLayer } from './onnx-encode.js';
import type { DenseTower, GemmProvider, Ops, TowerLayer } from './ops.js';
import { activationQuant, INFER_PRECISIONS, quantizeColumns, type InferPrecision } from './quantize.js';

/** Options for OrtGemmProvider.create. */
export interface OrtGemmOptions {
  /** ORT intra-op threads for one GEMM. @default 1 */
  intraOpNumThreads?: number;
  /** Let ORT's pool threads spin between calls (faster hand-off, burns CPU that Hogwild workers could use). @default false */
  spinning?: boolean;
  /** Use the public async InferenceSession API even when the synchronous binding is available. @default false */
  forceAsync?: boolean;
  /**
   * ORT intra-op threads for a tower's inference forward (DenseTower.forward). Deterministic for a given count;
   * 1 and 2 threads can differ in the last bits for some shapes. @default 2 when the machine has 2+ cores, else 1
   */
  inferThreads?: number;
  /**
   * Where towers keep their activations: a backend on ordinary (non-shared) memory of at least `bytes`, whose
   * arrays ORT reads in place and whose reluBackward the tower calls. @default plain arrays (ReferenceOps-like)
   */
  privateOps?: (bytes: number) => Ops;
  /**
   * Numeric format of a tower's inference forward (training always runs fp32). 'int8': hidden layers run as
   * int8 GEMMs (weights quantized per output column once, re-quantized when they change; activations quantized per
   * batch), about 3× the fp32 tower's speed for ~1e-3 relative error in the logits; a row's result then depends
   * slightly on the other rows of its batch. 'int8-static': each quantized layer's input uses a fixed scale from
   * calibrated ranges (passed to forward), so rows are independent of their batch (QuantizeLinear +
   * com.microsoft.MatMulIntegerToFloat per layer, ~20 % faster than 'int8' on 1–2 threads). @default 'fp32'
   */
  inferPrecision?: InferPrecision;
  /**
   * int8 towers quantize the weights of their first inference forward and never look at them again (skips the
   * per-forward comparison, ~0.1–0.5 ms per batch). Only for models whose weights never change after the first
   * forward, such as a loaded Predictor's. @default false
   */
  frozenWeights?: boolean;
}

type Feeds = Record<string, ort.Tensor>;
type Fetches = Record<string, ort.Tensor | null>;
interface SyncSession {
  run(feeds: Feeds, fetches: Fetches, options: object): Record<string, ort.OnnxValue>;
  dispose(): void;
}
interface SyncBinding {
  binding: { InferenceSession: new () => SyncSession & { loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void } };
  initOrt(): void;
}

// onnxruntime-node's own binding wraps a synchronous session; the public API defers every run() to
// setImmediate. We use the binding when it has the expected shape, the public API otherwise.
async function loadSyncBinding(): Promise<SyncBinding | null> {
  try {
    const mod = (await import('onnxruntime-node/dist/binding.js' as string)) as { default?: Partial<SyncBinding> } & Partial<SyncBinding>;
    const b = mod.binding !== undefined ? mod : mod.default;
    if (b?.binding?.InferenceSession !== undefined && typeof b.initOrt === 'function') return b as SyncBinding;
  } catch {
    // fall through to the public API
  }
  return null;
}

// The binding hands back a fresh copy of every output on every run (see the top of this file). V8 frees those
// copies only when its external-memory accounting triggers a collection, after ~30 MB per thread: more than a
// small model's own bytes (frappe-sized, bench/train/rss.bench.ts: peak 170 → 142 MB on 1 thread, 213 → 181 MB on
// 2). So after every OUTPUT_GC_BYTES of returned copies we run a young-generation collection (a scavenge: ~0.1 ms
// on these heaps, one per few steps; train.bench speed unchanged), which frees them. V8 gives gc() only to contexts
// created while --expose-gc is set: we set it, take gc from a fresh context, and unset it again, once per thread.
const OUTPUT_GC_BYTES = 4 * 1024 * 1024;
type GcFn = (options: { type: 'minor' | 'major' }) => void;
let gcFn: GcFn | null | undefined;
let returnedBytes = 0;

/** Count `bytes` of output copies the binding returned; collect the young generation once enough have piled up. */
function noteReturned(bytes: number): void {
  returnedBytes += bytes;
  if (returnedBytes < OUTPUT_GC_BYTES) return;
  returnedBytes = 0;
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const g: unknown = runInNewContext('typeof gc === "function" ? gc : null');
      gcFn = typeof g === 'function' ? (g as GcFn) : null;
      setFlagsFromString('--no-expose-gc');
    } catch {
      gcFn = null;
    }
  }
  gcFn?.({ type: 'minor' });
}

function isShared(a: Float32Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** Grow-only private (non-shared) staging array. */
class Staging {
  private buf = new Float32Array(0);
  get(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(Math.max(n, this.buf.length * 2));
    return this.buf.length === n ? this.buf : this.buf.subarray(0, n);
  }
}

/**
 * GEMM through onnxruntime-node (CPU EP). Same contract as Ops.gemm; gemm() is synchronous when the binding
 * loads (the usual case) and returns a Promise otherwise (`sync` tells which).
 * @example
 * const g = await OrtGemmProvider.create({ intraOpNumThreads: 1 });
 * g.gemm(false, true, m, n, k, 1, x, w, 0, y);   // y = x · wᵀ
 * await g.dispose();
 */
export class OrtGemmProvider implements GemmProvider {
  readonly name = 'ort' as const;
  readonly threads: number;
  private readonly syncSessions: SyncSession[] | null;
  private readonly asyncSessions: ort.InferenceSession[] | null;
  private readonly stageA = new Staging();
  private readonly stageB = new Staging();
  private readonly stageY = new Staging();
  private readonly runOptions = {};
  private readonly binding: SyncBinding | null;
  private readonly sessionOptions: Record<string, unknown>;
  private readonly inferThreads: number;
  private readonly towers: OrtDenseTower[] = [];
  private readonly privateOps: ((bytes: number) => Ops) | null;
  /** Numeric format of tower inference forwards ('int8' only with the synchronous binding, which towers need). */
  readonly inferPrecision: InferPrecision;

  private readonly frozenWeights: boolean;

  private constructor(threads: number, syncSessions: SyncSession[] | null, asyncSessions: ort.InferenceSession[] | null, binding: SyncBinding | null, sessionOptions: Record<string, unknown>, inferThreads: number, privateOps: ((bytes: number) => Ops) | null, inferPrecision: InferPrecision, frozenWeights: boolean) {
    this.frozenWeights = frozenWeights;
    this.privateOps = privateOps;
    this.inferPrecision = inferPrecision;
    this.threads = threads;
    this.syncSessions = syncSessions;
    this.asyncSessions = asyncSessions;
    this.binding = binding;
    this.sessionOptions = sessionOptions;
    this.inferThreads = inferThreads;
  }

  /** Loads onnxruntime-node and builds the four Gemm sessions (nn, nt, tn, tt). Throws kernel.failed when ORT cannot run. */
  static async create(opts: OrtGemmOptions = {}): Promise<OrtGemmProvider> {
    const threads = opts.intraOpNumThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new ConfigError(`ort.intraOpNumThreads must be a positive integer, got ${threads}`, { key: 'intraOpNumThreads', value: threads });
    }
    const inferThreads = opts.inferThreads ?? Math.min(2, Math.max(1, availableParallelism()));
    if (!Number.isInteger(inferThreads) || inferThreads < 1) {
      throw new ConfigError(`ort.inferThreads must be a positive integer, got ${inferThreads}`, { key: 'inferThreads', value: inferThreads });
    }
    const inferPrecision = opts.inferPrecision ?? 'fp32';
    if (!INFER_PRECISIONS.includes(inferPrecision)) {
      throw new ConfigError(`precision: unknown value '${String(inferPrecision)}'; allowed: ${INFER_PRECISIONS.map((p) => `'${p}'`).join(' | ')}`, { key: 'precision', value: inferPrecision });
    }
    const spin = opts.spinning === true ? '1' : '0';
    const sessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential' as const,
      graphOptimizationLevel: 'all' as const,
      logSeverityLevel: 4 as const,
      extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
    };
    ort.env.logLevel = 'fatal';
    const combos: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];
    try {
      const b = opts.forceAsync === true ? null : await loadSyncBinding();
      if (b === null && inferPrecision !== 'fp32') {
        throw new ConfigError(`precision '${inferPrecision}' needs onnxruntime-node's synchronous binding (fused towers), which did not load; use precision 'fp32'`, { key: 'precision', value: inferPrecision });
      }
      if (b !== null) {
        b.initOrt();
        const sessions = combos.map(([ta, tb]) => {
          const bytes = gemmModel(ta, tb);
          const s = new b.binding.InferenceSession();
          s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, sessionOptions);
          return s;
        });
        return new OrtGemmProvider(threads, sessions, null, b, sessionOptions, inferThreads, opts.privateOps ?? null, inferPrecision, opts.frozenWeights === true);
      }
      const sessions = await Promise.all(combos.map(([ta, tb]) => ort.InferenceSession.create(gemmModel(ta, tb), sessionOptions)));
      return new OrtGemmProvider(threads, null, sessions, null, sessionOptions, inferThreads, opts.privateOps ?? null, inferPrecision, opts.frozenWeights === true);
    } catch (e) {
      if (e instanceof BhembedError) throw e;
      throw new BhembedError('kernel.failed', `onnxruntime-node could not create a Gemm session: ${(e as Error).message}`);
    }
  }

  /** True when gemm() completes synchronously. */
  get sync(): boolean {
    return this.syncSessions !== null;
  }

  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void | Promise<void> {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      for (let i = 0; i < m * n; i++) c[i] = beta === 0 ? 0 : beta * c[i];
      return;
    }
    const idx = (transA ? 2 : 0) + (transB ? 1 : 0);
    const feeds: Feeds = {
      A: new ort.Tensor('float32', this.input(a, m * k, this.stageA), transA ? [k, m] : [m, k]),
      B: new ort.Tensor('float32', this.input(b, k * n, this.stageB), transB ? [n, k] : [k, n]),
    };
    // ORT writes straight into C when nothing needs combining and C is an ordinary array.
    const direct = alpha === 1 && beta === 0 && !isShared(c);
    const y = direct ? (c.length === m * n ? c : c.subarray(0, m * n)) : this.stageY.get(m * n);
    const fetches: Fetches = { Y: new ort.Tensor('float32', y, [m, n]) };
    if (this.syncSessions !== null) {
      this.syncSessions[idx].run(feeds, fetches, this.runOptions);
      noteReturned(4 * m * n);
      if (!direct) combine(y, alpha, beta, c, m * n);
      return;
    }
    return (this.asyncSessions as ort.InferenceSession[])[idx].run(feeds, fetches).then(() => {
      if (!direct) combine(y, alpha, beta, c, m * n);
    });
  }

  // ORT cannot read SharedArrayBuffer views: copy those into staging. Ordinary arrays pass through.
  private input(x: Float32Array, n: number, stage: Staging): Float32Array {
    if (!isShared(x)) return x.length === n ? x : x.subarray(0, n);
    const s = stage.get(n);
    s.set(x.length === n ? x : x.subarray(0, n));
    return s;
  }

  /**
   * A fused tower over the synchronous binding (undefined with the async API). Sessions are built on first use:
   * the training pair with intraOpNumThreads, the inference forward with inferThreads.
   */
  tower(layers: TowerLayer[], opts: { inputGrad: boolean; maxBatch: number }): DenseTower | undefined {
    const b = this.binding;
    if (b === null || layers.length === 0) return undefined;
    // ORT's memory pattern pre-plans one block for all of a graph's intermediates; for the training-step graph that
    // block is ~3× the live set (measured: peak RSS 268 → 213 MB at batch 4096, same speed), and for the other tower
    // graphs it costs too (bench/train/rss.bench.js, frappe-sized: 214 → 196 MB on 1 thread, 258 → 246 MB on 2;
    // train.bench --shape frappe speed unchanged), so it is off for every tower session. The CPU arena stays on:
    // without it glibc malloc holds more (measured 214 → 288 MB on 1 thread, 258 → 388 MB on 2).
    const make = (bytes: Uint8Array, threads: number): SyncSession => {
      const s = new b.binding.InferenceSession();
      s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, { ...this.sessionOptions, intraOpNumThreads: threads, enableMemPattern: false });
      return s;
    };
    const t = new OrtDenseTower(layers, opts.inputGrad, opts.maxBatch, make, this.threads, this.inferThreads, this.privateOps ?? plainOps, this.inferPrecision, this.frozenWeights, (d) => {
      const i = this.towers.indexOf(d);
      if (i >= 0) this.towers.splice(i, 1);
    });
    this.towers.push(t);
    return t;
  }

  async dispose(): Promise<void> {
    for (const t of [...this.towers]) t.dispose();
    this.towers.length = 0;
    if (this.syncSessions !== null) for (const s of this.syncSessions) s.dispose();
    if (this.asyncSessions !== null) for (const s of this.asyncSessions) await s.release();
  }
}

/**
 * Rows per onnxruntime run of a training step and of an fp32 inference forward. Each session has its own CPU arena,
 * which keeps the largest intermediates it ever held, so a session run on whole batches of 4096 rows holds a whole
 * batch of activations (frappe-sized 100-400-400-400-1 tower: the step graph's first run raised RSS by 49 MB, the
 * inference graph's by 13 MB, next to each other). Runs of 1024 rows hold about a quarter (step +21 MB, inference
 * +3.4 MB) and were not slower (this shared machine, batch 4096: step 80–82 → 67–80 ms on 1 thread, train.bench
 * --shape frappe 1 thread 45.4k/46.3k → 53.4k/54.2k samples/s, 2 threads 91.3k/89.9k → 91.7k/93.4k; inference
 * 11.1 → 10.8 ms with 2 threads, 21.3 → 17.7 ms with 1). A row's logit does not depend on the other rows of its run
 * unless the run is a single row (MLAS takes a GEMV path), hence equal runs. A step's weight gradients are summed
 * per run, then over runs (a different float summation order than one run, the same for a given batch size). int8
 * forwards stay one run per batch (their activations are quantized per run).
 */
const RUN_ROWS = 1024;

/** Layers at least this wide run as int8 in an int8 tower; narrower ones (the logit head) stay fp32. */
const INT8_MIN_OUT = 16;

/** Exact equality of the arrays' bytes (Buffer.compare is a native memcmp; works on shared memory too). */
function sameContents(a: Float32Array[], b: Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    const x = Buffer.from(a[i].buffer, a[i].byteOffset, a[i].byteLength);
    const y = Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength);
    if (!x.equals(y)) return false;
  }
  return true;
}

let vnniCache: boolean | null = null;

/**
 * Largest weight magnitude safe for onnxruntime's uint8×int8 kernels here. x86 CPUs without VNNI/AMX multiply
 * with vpmaddubsw, whose int16 pair sums saturate for full-range weights (255·127·2 > 32767); there weights use
 * 7 bits (63), as ORT's own quantizer does with reduce_range. VNNI, AMX and non-x86 CPUs take the full 127.
 */
function weightQmax(): number {
  if (process.arch !== 'x64' && process.arch !== 'ia32') return 127;
  if (vnniCache === null) {
    try {
      const flags = readFileSync('/proc/cpuinfo', 'utf8');
      vnniCache = /\b(avx512_vnni|avx_vnni|amx_int8)\b/.test(flags);
    } catch {
      vnniCache = false;
    }
  }
  return vnniCache ? 127 : 63;
}

// dst[0..n) += src[0..n).
function addInto(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}

// c = alpha·y + beta·c (beta = 0 ignores c's old contents).
function combine(y: Float32Array, alpha: number, beta: number, c: Float32Array, n: number): void {
  if (beta === 0) {
    if (alpha === 1) c.set(y);
    else for (let i = 0; i < n; i++) c[i] = alpha * y[i];
  } else {
    for (let i = 0; i < n; i++) c[i] = alpha * y[i] + beta * c[i];
  }
}

// Without a private WASM backend: ordinary arrays and a plain-loop ReLU backward (the only kernel towers call).
function plainOps(): Ops {
  return {
    allocF32: (n: number) => new Float32Array(n),
    reluBackward: (y: Float32Array, dy: Float32Array, dx: Float32Array, n: number) => {
      for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
    },
  } as unknown as Ops;
}

/**
 * DenseTower on ORT sessions built on first use: the whole forward as one graph (inference with inferThreads, the
 * training forward with every H_i as an output), and per layer one backward graph (DW, DB, GA). Hidden
 * activations and backward intermediates live in `priv` (ordinary memory: ORT reads and writes them in place),
 * whose WASM SIMD reluBackward masks the gradient between layers (ORT's Greater+Where costs ~15× more).
 * Caller arrays in shared memory are staged: inputs copied in per name, outputs written to staging and copied back.
 *
 *   forwardTrain:  X ─▶ [Gemm+ReLU ×(L−1), Gemm] ─▶ H_0 … H_{L−1}  (H_{L−1} also copied to out)
 *   backward:      G = dOut;  for i = L−1 … 0:  G ⊙= [H_i > 0] (relu_i);  DW_i, DB_i, GA = layer_i(A_i, G, W_i);  G = GA
 *                  (GA written over H_i, dead by then; the plain head's GA into one spare buffer)
 */
class OrtDenseTower implements DenseTower {
  private readonly layers: TowerLayer[];
  private readonly inputGrad: boolean;
  private readonly maxBatch: number;
  private readonly make: (bytes: Uint8Array, threads: number) => SyncSession;
  private readonly trainThreads: number;
  private readonly inferThreads: number;
  private priv: Ops | null = null;
  private readonly privateOps: (bytes: number) => Ops;
  private readonly privBytes: number;
  private readonly cap: number[];
  private readonly spareFloats: number;
  private stepS: SyncSession | null = null;
  private readonly scaleBuf = new Float32Array(1);
  private readonly onDispose: (t: OrtDenseTower) => void;
  private inferS: SyncSession | null = null;
  private trainS: SyncSession | null = null;
  private readonly backS = new Map<string, SyncSession>();
  /** H_i of the last forwardTrain (private memory, maxBatch rows). */
  private acts: Float32Array[] = [];
  /** Gradient buffer for the top layer (private memory), see the constructor. */
  private spare: Float32Array | null = null;
  private readonly stages = new Map<string, Staging>();
  private readonly copies: Array<[Float32Array, Float32Array]> = [];
  private readonly runOptions = {};
  readonly precision: InferPrecision;
  /** int8 inference: the session with the quantized weights baked in, and a copy of the fp32 weights (and input ranges) it came from. */
  private q8: { session: SyncSession; snapshot: Float32Array[] } | null = null;
  private readonly frozen: boolean;
  /** trainStep's gradient accumulators for runs after the first (see stepAcc). */
  private accBufs: Float32Array[] | null = null;

  constructor(layers: TowerLayer[], inputGrad: boolean, maxBatch: number, make: (bytes: Uint8Array, threads: number) => SyncSession, trainThreads: number, inferThreads: number, privateOps: (bytes: number) => Ops, precision: InferPrecision, frozen: boolean, onDispose: (t: OrtDenseTower) => void) {
    this.onDispose = onDispose;
    this.frozen = frozen;
    this.precision = precision;
    this.layers = layers.map((l) => ({ ...l }));
    this.inputGrad = inputGrad;
    this.maxBatch = maxBatch;
    this.make = make;
    this.trainThreads = trainThreads;
    this.inferThreads = inferThreads;
    // Gradients reuse the activation buffers: once layer i's ReLU mask is applied, H_i is dead, so its buffer
    // (sized for in_i as well) receives GA = ∂L/∂H_{i−1}. Only the top needs a spare: the plain head's GA, or a
    // copy of dOut to mask when the last layer has a ReLU.
    const L = layers.length;
    const last = layers[L - 1];
    const cap = layers.map((l, i) => maxBatch * Math.max(l.outDim, i > 0 && (i < L - 1 || l.relu) ? l.inDim : 0));
    const spareFloats = maxBatch * (last.relu ? last.outDim : L > 1 ? last.inDim : 0);
    this.privBytes = 4 * (cap.reduce((a, b) => a + b, 0) + spareFloats) + 64 * (L + 2);
    this.privateOps = privateOps;
    this.cap = cap;
    this.spareFloats = spareFloats;
    this.trainStep = !last.relu && last.outDim === 1 ? this.step.bind(this) : null;
  }

  readonly trainStep: DenseTower['trainStep'];

  // The private memory is made on the first forwardTrain/backward (a model trained by trainStep never needs it).
  private ensurePrivate(): void {
    if (this.priv !== null) return;
    const priv = this.privateOps(this.privBytes);
    this.priv = priv;
    this.acts = this.cap.map((c) => priv.allocF32(c));
    this.spare = this.spareFloats > 0 ? priv.allocF32(this.spareFloats) : null;
  }

  private step(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], extra: Float32Array, labels: Float32Array, scale: number, logits: Float32Array, dWeights: Float32Array[], dBiases: Float32Array[], dX: Float32Array | null): void {
    const layers = this.layers;
    const L = layers.length;
    if (m <= 0) {
      this.backward(0, x, weights, labels, dWeights, dBiases, dX);
      return;
    }
    this.checkRows(m);
    if (this.inputGrad && dX === null) throw new BhembedError('kernel.failed', 'tower step: built with inputGrad but dX is null');
    if (this.stepS === null) this.stepS = this.make(towerStepModel(layers, this.inputGrad), this.trainThreads);
    // Equal runs of at most RUN_ROWS rows (see RUN_ROWS); runs after the first write DW/DB into accumulators that
    // are added to the caller's, so the result is the gradient of the whole batch (summed per run, then over runs).
    const per = Math.ceil(m / Math.ceil(m / RUN_ROWS));
    const inDim = layers[0].inDim;
    const feeds = this.paramFeeds(per, x, weights, biases);
    this.scaleBuf[0] = scale;
    feeds.S = new ort.Tensor('float32', this.scaleBuf, []);
    for (let r0 = 0; r0 < m; r0 += per) {
      const r = Math.min(per, m - r0);
      if (r0 > 0) feeds.X = this.input('X', x.subarray(r0 * inDim), r, inDim);
      feeds.E = this.input('E', extra.subarray(r0), r, 1);
      feeds.Y = this.input('Y', labels.subarray(r0), r, 1);
      const fetches: Fetches = { Z: this.output('Z', logits.subarray(r0), r, 1) };
      const acc = r0 === 0 ? null : this.stepAcc();
      for (let i = 0; i < L; i++) {
        fetches[`DW${i}`] = this.output(`DW${i}`, acc === null ? dWeights[i] : acc[2 * i], layers[i].inDim, layers[i].outDim);
        fetches[`DB${i}`] = this.output(`DB${i}`, acc === null ? dBiases[i] : acc[2 * i + 1], layers[i].outDim, 0);
      }
      if (this.inputGrad) fetches.DX = this.output('DX', (dX as Float32Array).subarray(r0 * inDim), r, inDim);
      this.run(this.stepS, feeds, fetches);
      if (acc !== null) {
        for (let i = 0; i < L; i++) {
          addInto(dWeights[i], acc[2 * i], layers[i].inDim * layers[i].outDim);
          addInto(dBiases[i], acc[2 * i + 1], layers[i].outDim);
        }
      }
    }
  }

  /** Per layer DW_i, DB_i of a step's later runs (ordinary arrays: ORT writes them in place). */
  private stepAcc(): Float32Array[] {
    if (this.accBufs === null) this.accBufs = this.layers.flatMap((l) => [new Float32Array(l.inDim * l.outDim), new Float32Array(l.outDim)]);
    return this.accBufs;
  }

  forward(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], out: Float32Array, inputRanges?: Float32Array | null): void {
    if (m <= 0) return;
    this.checkRows(m);
    if (this.precision !== 'fp32') {
      this.forwardInt8(m, x, weights, biases, out, inputRanges ?? null);
      return;
    }
    if (this.inferS === null) this.inferS = this.make(towerForwardModel(this.layers, false), this.inferThreads);
    const L = this.layers.length;
    const inDim = this.layers[0].inDim;
    const outDim = this.layers[L - 1].outDim;
    const name = towerNames.h(L - 1);
    // Equal runs of at most RUN_ROWS rows (see RUN_ROWS); weights and biases are staged once for all runs.
    const per = Math.ceil(m / Math.ceil(m / RUN_ROWS));
    const feeds = this.paramFeeds(per, x, weights, biases);
    for (let r0 = 0; r0 < m; r0 += per) {
      const r = Math.min(per, m - r0);
      if (r0 > 0) feeds.X = this.input('X', x.subarray(r0 * inDim), r, inDim);
      this.run(this.inferS, feeds, { [name]: this.output(name, out.subarray(r0 * outDim), r, outDim) });
    }
  }

  // The quantized session is rebuilt only when a weight or bias differs from the copy it was built from (an exact
  // memcmp per forward, ~0.1 ms for a 400-400-400 tower: served models never change, a training run's evaluation
  // re-quantizes once per evaluation).
  private forwardInt8(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], out: Float32Array, inputRanges: Float32Array | null): void {
    const L = this.layers.length;
    const isStatic = this.precision === 'int8-static';
    if (isStatic && (inputRanges === null || inputRanges.length < 2 * L)) {
      throw new ConfigError(`precision 'int8-static' needs the calibrated input range of each of the tower's ${L} layers (${2 * L} values), got ${inputRanges?.length ?? 'none'}`, { key: 'precision', value: this.precision });
    }
    if (this.frozen && this.q8 !== null) {
      this.runInt8(this.q8.session, m, x, out);
      return;
    }
    const sources: Float32Array[] = [];
    this.layers.forEach((l, i) => {
      sources.push(weights[i].subarray(0, l.inDim * l.outDim), biases[i].subarray(0, l.outDim));
    });
    if (isStatic) sources.push((inputRanges as Float32Array).subarray(0, 2 * L));
    if (this.q8 === null || !sameContents(this.q8.snapshot, sources)) {
      this.q8?.session.dispose();
      this.q8 = null;
      const qmax = weightQmax();
      const specs: Int8TowerLayer[] = this.layers.map((l, i) => {
        const w = Float32Array.from(sources[2 * i]);
        const bias = Float32Array.from(sources[2 * i + 1]);
        // The logit head (and any layer narrower than 16) stays fp32: it is a sliver of the FLOPs and the
        // output every score is read from.
        if (l.outDim < INT8_MIN_OUT) return { ...l, bias, w };
        return { ...l, bias, ...quantizeColumns(w, l.inDim, l.outDim, qmax) };
      });
      const ranges = inputRanges as Float32Array;
      const model = towerInt8ForwardModel(specs, isStatic ? this.layers.map((_, i) => activationQuant(ranges[2 * i], ranges[2 * i + 1])) : undefined);
      const session = this.make(model, this.inferThreads);
      // Frozen: no snapshot to compare against later.
      this.q8 = { session, snapshot: this.frozen ? [] : sources.map((a) => Float32Array.from(a)) };
    }
    this.runInt8(this.q8.session, m, x, out);
  }

  private runInt8(session: SyncSession, m: number, x: Float32Array, out: Float32Array): void {
    const L = this.layers.length;
    const feeds: Feeds = { X: this.input('X', x, m, this.layers[0].inDim) };
    const fetches: Fetches = { [towerNames.h(L - 1)]: this.output(towerNames.h(L - 1), out, m, this.layers[L - 1].outDim) };
    this.run(session, feeds, fetches);
  }

  forwardTrain(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], out: Float32Array): void {
    if (m <= 0) return;
    this.checkRows(m);
    this.ensurePrivate();
    if (this.trainS === null) this.trainS = this.make(towerForwardModel(this.layers, true), this.trainThreads);
    const feeds = this.paramFeeds(m, x, weights, biases);
    const fetches: Fetches = {};
    this.layers.forEach((l, i) => {
      fetches[towerNames.h(i)] = this.output(towerNames.h(i), this.acts[i], m, l.outDim);
    });
    this.run(this.trainS, feeds, fetches);
    const L = this.layers.length;
    const len = m * this.layers[L - 1].outDim;
    out.set(this.acts[L - 1].subarray(0, len));
  }

  backward(m: number, x: Float32Array, weights: Float32Array[], dOut: Float32Array, dWeights: Float32Array[], dBiases: Float32Array[], dX: Float32Array | null): void {
    const layers = this.layers;
    const L = layers.length;
    if (m <= 0) {
      for (let i = 0; i < L; i++) {
        dWeights[i].fill(0, 0, layers[i].inDim * layers[i].outDim);
        dBiases[i].fill(0, 0, layers[i].outDim);
      }
      return;
    }
    this.checkRows(m);
    if (this.inputGrad && dX === null) throw new BhembedError('kernel.failed', 'tower backward: built with inputGrad but dX is null');
    this.ensurePrivate();
    const priv = this.priv as Ops;
    let g = dOut;
    if (layers[L - 1].relu) {
      const n = m * layers[L - 1].outDim;
      g = this.spare as Float32Array;
      g.set(dOut.subarray(0, n));
      priv.reluBackward(this.acts[L - 1], g, g, n);
    }
    for (let i = L - 1; i >= 0; i--) {
      const l = layers[i];
      if (i < L - 1 && l.relu) priv.reluBackward(this.acts[i], g, g, m * l.outDim);
      const withGA = i > 0 || this.inputGrad;
      const key = `${l.inDim}x${l.outDim}${withGA ? '+ga' : ''}`;
      let s = this.backS.get(key);
      if (s === undefined) this.backS.set(key, (s = this.make(towerLayerBackwardModel(l.inDim, l.outDim, withGA), this.trainThreads)));
      const feeds: Feeds = { A: this.input('A', i === 0 ? x : this.acts[i - 1], m, l.inDim), G: this.input('G', g, m, l.outDim) };
      const fetches: Fetches = { DW: this.output('DW', dWeights[i], l.inDim, l.outDim), DB: this.output('DB', dBiases[i], l.outDim, 0) };
      let next = g;
      if (withGA) {
        feeds.W = this.input('W', weights[i], l.inDim, l.outDim);
        // GA never aliases G (from the layer above: its H buffer or the spare) nor A (H_{i−1}).
        next = i === 0 ? (dX as Float32Array) : i === L - 1 && !l.relu ? (this.spare as Float32Array) : this.acts[i];
        fetches.GA = this.output('GA', next, m, l.inDim);
      }
      this.run(s, feeds, fetches);
      g = next;
    }
  }

  dispose(): void {
    for (const s of [this.inferS, this.trainS, this.stepS, this.q8?.session, ...this.backS.values()]) s?.dispose();
    this.inferS = this.trainS = this.stepS = null;
    this.q8 = null;
    this.priv = null;
    this.accBufs = null;
    this.backS.clear();
    // Drop the private memory (it is freed with its last view).
    this.acts = [];
    this.spare = null;
    this.stages.clear();
    this.onDispose(this);
  }

  private checkRows(m: number): void {
    if (m > this.maxBatch) throw new BhembedError('kernel.failed', `tower: ${m} rows exceed maxBatch ${this.maxBatch}`);
  }

  private paramFeeds(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[]): Feeds {
    const n = towerNames;
    const feeds: Feeds = { X: this.input('X', x, m, this.layers[0].inDim) };
    this.layers.forEach((l, i) => {
      feeds[n.w(i)] = this.input(n.w(i), weights[i], l.inDim, l.outDim);
      feeds[n.b(i)] = this.input(n.b(i), biases[i], l.outDim, 0);
    });
    return feeds;
  }

  private stage(name: string): Staging {
    let s = this.stages.get(name);
    if (s === undefined) this.stages.set(name, (s = new Staging()));
    return s;
  }

  // rows × cols (cols = 0: a vector of `rows`).
  private input(name: string, a: Float32Array, rows: number, cols: number): ort.Tensor {
    const len = cols === 0 ? rows : rows * cols;
    let data: Float32Array;
    if (isShared(a)) {
      data = this.stage(name).get(len);
      data.set(a.length === len ? a : a.subarray(0, len));
    } else data = a.length === len ? a : a.subarray(0, len);
    return new ort.Tensor('float32', data, cols === 0 ? [rows] : [rows, cols]);
  }

  private output(name: string, c: Float32Array, rows: number, cols: number): ort.Tensor {
    const len = cols === 0 ? rows : rows * cols;
    const view = c.length === len ? c : c.subarray(0, len);
    let data = view;
    if (isShared(c)) {
      data = this.stage(`out:${name}`).get(len);
      this.copies.push([view, data]);
    }
    return new ort.Tensor('float32', data, cols === 0 ? [rows] : [rows, cols]);
  }

  private run(s: SyncSession, feeds: Feeds, fetches: Fetches): void {
    try {
      s.run(feeds, fetches, this.runOptions);
      for (const [dst, src] of this.copies) dst.set(src);
    } finally {
      this.copies.length = 0;
    }
    for (const name in fetches) noteReturned((fetches[name]?.data as Float32Array | undefined)?.byteLength ?? 0);
  }
}
