// The WASM backend: loads kernels.wasm (AssemblyScript, SIMD), owns the shared linear memory and its allocator,
// and maps every Ops call to a kernel by passing byte offsets. The only file that instantiates the .wasm; workers
// reach the same memory through WasmOps.attach(). Kernels never allocate: all scratch comes from here.
//
// Memory layout (one WasmMemory, shared, so Hogwild workers see the same tables):
//   [0, HEADER)        AssemblyScript static data (math tables), checked < HEADER at load
//   [HEADER, HEAP)     header: magic, the bump pointer (64-byte units, bumped with Atomics by every thread)
//   [HEAP, …)          allocations, 64-byte aligned, never moved
// Growth: memory.grow on a *shared* memory never detaches the old SharedArrayBuffer, so views handed out
// earlier stay valid forever; only the new tail needs a fresh view, which alloc creates. Memory is reserved up
// to maximumBytes at creation (virtual address space only) and committed as it grows.

import { BhembedError, ConfigError } from '../core/errors.js';
import { WasmFusedBag, type FusedBag, type FusedBagAlloc, type FusedBagField, type FusedBagHost } from './fused-bag.js';
import type { BackendName, Ops } from './ops.js';
import { ShardedRowState, stateRowsPerShard, type RowState, type RowStateHost, type RowStateShared } from './row-state.js';

const PAGE = 65536;
const HEADER = 16384;
const HEAP = 65536;
const ALIGN = 64;
const MAGIC = 0x62686d65; // 'bhme'
const HDR_MAGIC = HEADER >> 2;
const HDR_BUMP = (HEADER >> 2) + 1;
const HDR_MAX_PAGES = (HEADER >> 2) + 2;
const MAX_PAGES = 65536; // wasm32 ceiling (4 GiB), also the module's declared maximum
const GROW_CHUNK = 16 * 1024 * 1024;

// tsconfig's lib has no WebAssembly declarations (no DOM); the few members used here, kept local to this file.
/** A compiled kernels.wasm (a WebAssembly.Module); survives postMessage to workers. */
export interface WasmModule {
  readonly __wasmModule?: never;
}
/** A WebAssembly.Memory (shared: its buffer is a SharedArrayBuffer). Survives postMessage to workers. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Module: new (bytes: Uint8Array) => WasmModule;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The kernel exports, as the loader calls them (pointers are byte offsets; bools are 0/1). */
interface KernelExports {
  heapBase(): number;
  peek(ptr: number): number;
  gemmScratchBytes(): number;
  gemm(transA: number, transB: number, m: number, n: number, k: number, alpha: number, a: number, b: number, beta: number, c: number, scratch: number): void;
  addRowVector(y: number, v: number, m: number, n: number): void;
  sumRows(x: number, m: number, n: number, out: number, accumulate: number): void;
  relu(x: number, y: number, n: number): void;
  reluBackward(y: number, dy: number, dx: number, n: number): void;
  sigmoid(x: number, y: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  axpy(alpha: number, x: number, y: number, n: number): void;
  dropoutMask(mask: number, n: number, threshold: number, keep: number, seed: number): void;
  bceWithLogits(logits: number, labels: number, n: number, dlogits: number, scale: number): number;
  batchNormTrain(x: number, m: number, n: number, gamma: number, beta: number, runMean: number, runVar: number, momentum: number, eps: number, y: number, saveMean: number, saveInvStd: number): void;
  batchNormInfer(x: number, m: number, n: number, gamma: number, beta: number, runMean: number, runVar: number, eps: number, y: number, scratch: number): void;
  batchNormBackward(x: number, dy: number, m: number, n: number, gamma: number, saveMean: number, saveInvStd: number, dx: number, dGamma: number, dBeta: number, scratch: number): void;
  embeddingBagForward(table: number, dim: number, rows: number, offsets: number, nSeg: number, weights: number, hasWeights: number, mean: number, out: number): void;
  embeddingBagBackward(dOut: number, dim: number, rows: number, offsets: number, nSeg: number, weights: number, hasWeights: number, mean: number, slot: number, uniqueRows: number, gradRows: number): number;
  embeddingBagWeightGrad(dOut: number, table: number, dim: number, rows: number, offsets: number, nSeg: number, mean: number, dWeights: number): void;
  sparseGradMerge(dim: number, rows: number, grad: number, u: number, mod: number, rem: number, slot: number, outRows: number, outGrad: number, count: number): number;
  bhRows(ids: number, n: number, blocks: number, K: number, out: number, outStride: number, outOffset: number): void;
  sparseSgd(table: number, dim: number, rows: number, u: number, grad: number, lr: number, l2: number): void;
  sparseAdagrad(table: number, acc: number, dim: number, rows: number, u: number, grad: number, lr: number, l2: number, eps: number): void;
  sparseAdam(table: number, m: number, v: number, dim: number, rows: number, u: number, grad: number, stepSize: number, beta1: number, beta2: number, eps: number, l2: number, bc2inv: number): void;
  adam(w: number, g: number, m: number, v: number, n: number, stepSize: number, beta1: number, beta2: number, eps: number, wd: number, bc2inv: number): void;
  fmForward(x: number, b: number, f: number, d: number, out: number): void;
  fmBackward(x: number, dOut: number, b: number, f: number, d: number, dx: number): void;
  crossForward(x0: number, u: number, xl: number, out: number, n: number): void;
  crossBackward(x0: number, u: number, dOut: number, dU: number, dX0: number, n: number): void;
  bhBagForward(table: number, dim: number, B: number, F: number, fields: number, weights: number, hasWeights: number, out: number, outStride: number): void;
  rowSplit(table: number, grad: number, dim: number, rows: number, u: number, rowsPerShard: number, numShards: number, cap: number, l2: number, outRows: number, outG: number, counts: number): void;
  rowSubtract(table: number, dim: number, rows: number, n: number, lo: number, d: number): void;
  sparseAdamStep(m: number, v: number, dim: number, rows: number, u: number, gd: number, stepSize: number, beta1: number, beta2: number, eps: number, bc2inv: number): void;
  sparseAdagradStep(acc: number, dim: number, rows: number, u: number, gd: number, lr: number, eps: number): void;
}

/** Options for WasmOps.create. */
export interface WasmOpsOptions {
  /** Bytes committed at creation (rounded up to 64 KiB pages). @default 64 MiB */
  initialBytes?: number;
  /** Ceiling for growth; allocation past it throws. At most 4 GiB (wasm32). @default 4 GiB */
  maximumBytes?: number;
  /** The compiled kernels (e.g. received from the main thread); loaded from kernels.wasm when absent. */
  module?: WasmModule;
  /**
   * Row-wise optimizer state (rowState) larger than this, or too large to fit in this memory next to what it already
   * holds (keeping STATE_HEADROOM_BYTES free), goes to memories of its own of at most this many bytes each.
   * Small values force the sharded path (tests). @default 3.5 GiB
   */
  stateShardBytes?: number;
  /**
   * Largest embedding table (bytes) kept in this memory: a larger one, or one that does not fit here next to what
   * the memory already holds (keeping STATE_HEADROOM_BYTES free), lives outside it (kernels/external-table.ts) and
   * each step copies the rows it touches in. Small values force that path (tests). @default 4 GiB (fit decides)
   */
  heapTableBytes?: number;
}

/** Default size of one optimizer-state shard memory (wasm32 memories stop at 4 GiB; staging lives there too). */
export const STATE_SHARD_BYTES = 3.5 * 2 ** 30;
/** Free bytes rowState keeps in the main memory for worker threads' buffers, activations and scratch. */
export const STATE_HEADROOM_BYTES = 2 ** 30;

/** What a worker needs to run kernels over the same memory: both survive postMessage. */
export interface WasmShared {
  /** The compiled module, or the raw kernels.wasm bytes (compiled synchronously by attach). */
  module: WasmModule | Uint8Array;
  memory: WasmMemory;
}

type View = Float32Array | Int32Array;

let modulePromise: Promise<WasmModule> | null = null;
let privateModulePromise: Promise<WasmModule> | null = null;
/** The private module once compiled (synchronous access for the fused bag's private instance). */
let privateModuleReady: WasmModule | null = null;

/** kernels.wasm with an unshared memory import, compiled once per thread (for WasmOps.createPrivate). */
export function privateKernelModule(): Promise<WasmModule> {
  if (privateModulePromise === null) {
    privateModulePromise = loadKernelBytes()
      .then((bytes) => WA.compile(unsharedKernelBytes(bytes)))
      .then((m) => (privateModuleReady = m));
    privateModulePromise.catch(() => {
      privateModulePromise = null;
    });
  }
  return privateModulePromise;
}

/** The raw bytes of kernels.wasm (next to this file in dist/src/kernels/). */
export async function loadKernelBytes(): Promise<Uint8Array> {
  const url = new URL('./kernels.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new BhembedError('kernel.failed', `cannot load ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

// kernels.wasm imports a *shared* memory. A private (non-shared) instance needs the same code importing an
// ordinary memory: rewrite the import's limits flag (0x03 shared+max → 0x01 max) in the import section.
// Atomic loads on an unshared memory are valid WASM, so nothing else changes.
function readLeb(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++];
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
}

/** kernels.wasm bytes whose memory import is not shared (for WasmOps.createPrivate). */
export function unsharedKernelBytes(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  let pos = 8;
  while (pos < out.length) {
    const id = out[pos++];
    const [size, start] = readLeb(out, pos);
    if (id === 2) {
      let p = start;
      let count: number;
      [count, p] = readLeb(out, p);
      for (let i = 0; i < count; i++) {
        let len: number;
        [len, p] = readLeb(out, p);
        p += len;
        [len, p] = readLeb(out, p);
        p += len;
        const kind = out[p++];
        if (kind === 0x02) {
          if (out[p] === 0x03) out[p] = 0x01;
          return out;
        }
        // other import kinds: func (typeidx), table (reftype + limits), global (valtype + mut)
        if (kind === 0x00) [, p] = readLeb(out, p);
        else if (kind === 0x01) {
          p++;
          const flags = out[p++];
          [, p] = readLeb(out, p);
          if (flags & 1) [, p] = readLeb(out, p);
        } else if (kind === 0x03) p += 2;
        else break;
      }
      break;
    }
    pos = start + size;
  }
  throw new BhembedError('kernel.failed', 'kernels.wasm: no memory import found to make private');
}

/** kernels.wasm compiled once per thread and cached. */
export function loadKernelModule(): Promise<WasmModule> {
  if (modulePromise === null) {
    modulePromise = loadKernelBytes().then((bytes) => WA.compile(bytes));
    modulePromise.catch(() => {
      modulePromise = null;
    });
  }
  return modulePromise;
}

function roundUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/**
 * Ops on WASM SIMD kernels over one shared memory. Arrays must come from allocF32/allocI32 of any WasmOps
 * on the same memory (a foreign array throws 'kernel.failed' on first use).
 * @example
 * const ops = await WasmOps.create({ initialBytes: 256 << 20 });
 * const x = ops.allocF32(1024); ops.relu(x, x, 1024);
 * worker.postMessage(ops.shared);               // in the worker: const wops = WasmOps.attach(shared);
 */
export class WasmOps implements Ops, RowStateHost {
  readonly name: BackendName = 'wasm';
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  private readonly k: KernelExports;
  private readonly header: Int32Array;
  private readonly maxBytes: number;
  private readonly known = new WeakSet<ArrayBufferLike>();
  private lastBuf: ArrayBufferLike;
  private readonly freeLists = new Map<number, number[]>();
  private readonly canary: number;
  private scratchPtr = 0;
  private scratchBytes = 0;
  /** A private backend: ordinary (non-shared) memory of a fixed size, see createPrivate. */
  readonly isPrivate: boolean;
  /** See WasmOpsOptions.stateShardBytes. */
  stateShardBytes = STATE_SHARD_BYTES;
  /** See WasmOpsOptions.heapTableBytes. */
  heapTableBytes = MAX_PAGES * PAGE;

  private constructor(module: WasmModule, memory: WasmMemory, maxPages: number | null, priv = false) {
    this.module = module;
    this.memory = memory;
    const instance = new WA.Instance(module, { env: { memory, abort: () => { throw new BhembedError('kernel.failed', 'wasm kernel aborted'); } } });
    this.k = instance.exports as unknown as KernelExports;
    if (this.k.heapBase() > HEADER) throw new BhembedError('kernel.failed', `kernels.wasm static data (${this.k.heapBase()} bytes) overlaps the allocator header`);
    const buf = memory.buffer;
    this.lastBuf = buf;
    this.known.add(buf);
    this.header = new Int32Array(buf, 0, HEAP >> 2);
    this.isPrivate = priv;
    if (maxPages !== null) {
      Atomics.store(this.header, HDR_BUMP, HEAP / ALIGN);
      Atomics.store(this.header, HDR_MAX_PAGES, maxPages);
      Atomics.store(this.header, HDR_MAGIC, MAGIC);
    } else if (Atomics.load(this.header, HDR_MAGIC) !== MAGIC) {
      throw new BhembedError('kernel.failed', 'WasmOps.attach: memory was not created by WasmOps.create');
    }
    this.maxBytes = Atomics.load(this.header, HDR_MAX_PAGES) * PAGE;
    // A private word used to prove that an unknown SharedArrayBuffer is this memory (see ptr()).
    this.canary = this.reserve(ALIGN);
    // Nonzero, so that a zeroed foreign buffer never agrees with it (holds()).
    Atomics.store(new Int32Array(this.memory.buffer, this.canary, 1), 0, 0x5bd1e995);
  }

  /** A backend with a fresh shared memory. */
  static async create(opts: WasmOpsOptions = {}): Promise<WasmOps> {
    const maximumBytes = opts.maximumBytes ?? MAX_PAGES * PAGE;
    const initialBytes = opts.initialBytes ?? 64 * 1024 * 1024;
    if (!(maximumBytes > 0 && maximumBytes <= MAX_PAGES * PAGE)) {
      throw new ConfigError(`wasm.maximumBytes must be in (0, 4 GiB], got ${maximumBytes}`, { key: 'maximumBytes', value: maximumBytes });
    }
    if (!(initialBytes >= 0 && initialBytes <= maximumBytes)) {
      throw new ConfigError(`wasm.initialBytes must be in [0, maximumBytes], got ${initialBytes}`, { key: 'initialBytes', value: initialBytes });
    }
    const module = opts.module ?? (await loadKernelModule());
    const maximum = Math.ceil(maximumBytes / PAGE);
    const initial = Math.max(Math.ceil(initialBytes / PAGE), HEAP / PAGE + 4);
    const memory = new WA.Memory({ initial: Math.min(initial, maximum), maximum, shared: true });
    const ops = new WasmOps(module, memory, maximum);
    if (opts.stateShardBytes !== undefined) {
      if (!(opts.stateShardBytes > 0 && opts.stateShardBytes <= STATE_SHARD_BYTES)) {
        throw new ConfigError(`wasm.stateShardBytes must be in (0, 3.5 GiB], got ${opts.stateShardBytes}`, { key: 'stateShardBytes', value: opts.stateShardBytes });
      }
      ops.stateShardBytes = opts.stateShardBytes;
    }
    if (opts.heapTableBytes !== undefined) {
      if (!(opts.heapTableBytes >= 0)) throw new ConfigError(`wasm.heapTableBytes must be ≥ 0, got ${opts.heapTableBytes}`, { key: 'heapTableBytes', value: opts.heapTableBytes });
      ops.heapTableBytes = opts.heapTableBytes;
    }
    return ops;
  }

  /** A backend on a fresh shared memory of at least `bytes` free (a state shard), synchronously from this module. */
  private shardOps(bytes: number): WasmOps {
    const initial = Math.min(MAX_PAGES, Math.ceil((bytes + 2 * HEAP) / PAGE) + 16);
    const memory = new WA.Memory({ initial, maximum: MAX_PAGES, shared: true });
    return new WasmOps(this.module, memory, MAX_PAGES);
  }

  /**
   * A backend on a private, ordinary (non-shared) memory of fixed size `bytes` that never grows (growing would
   * detach the ArrayBuffer and every view). onnxruntime-node reads and writes its arrays in place, which it
   * refuses to do for SharedArrayBuffer views; for one thread's activations. `module` is from privateKernelModule.
   */
  static createPrivate(module: WasmModule, bytes: number): WasmOps {
    const pages = Math.max(Math.ceil((bytes + 2 * HEAP) / PAGE), HEAP / PAGE + 4);
    if (pages > MAX_PAGES) throw new ConfigError(`wasm private memory: ${bytes} bytes exceed 4 GiB`, { value: bytes });
    const memory = new WA.Memory({ initial: pages, maximum: pages });
    return new WasmOps(module, memory, pages, true);
  }

  /** A backend over an existing memory (in a worker, from `shared` posted by the creator). Synchronous. */
  static attach(shared: WasmShared): WasmOps {
    if (!(shared.memory.buffer instanceof SharedArrayBuffer)) throw new BhembedError('kernel.failed', 'WasmOps.attach: memory is not shared');
    const module = shared.module instanceof Uint8Array ? new WA.Module(shared.module) : shared.module;
    return new WasmOps(module, shared.memory, null);
  }

  /** Post this to a worker and call WasmOps.attach there. */
  get shared(): WasmShared {
    return { module: this.module, memory: this.memory };
  }

  /** Bytes handed out so far by all threads (the bump pointer). */
  get bytesAllocated(): number {
    return Atomics.load(this.header, HDR_BUMP) * ALIGN - HEAP;
  }

  // --- memory ---

  allocF32(n: number): Float32Array {
    const ptr = this.allocBytes(n * 4);
    return new Float32Array(this.buffer(), ptr, n);
  }

  allocI32(n: number): Int32Array {
    const ptr = this.allocBytes(n * 4);
    return new Int32Array(this.buffer(), ptr, n);
  }

  /** free: returns an array from allocF32/allocI32 to this thread's free list; it must not be used afterwards. */
  free(a: Float32Array | Int32Array): void {
    this.pushFree(this.ptr(a), roundUp(Math.max(a.byteLength, ALIGN), ALIGN));
  }

  private pushFree(ptr: number, size: number): void {
    let list = this.freeLists.get(size);
    if (list === undefined) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  private allocBytes(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new ConfigError(`alloc: element count must be a non-negative integer, got ${bytes / 4}`, { value: bytes / 4 });
    const size = roundUp(Math.max(bytes, ALIGN), ALIGN);
    const list = this.freeLists.get(size);
    if (list !== undefined && list.length > 0) {
      const ptr = list.pop() as number;
      new Uint8Array(this.buffer(), ptr, size).fill(0);
      return ptr;
    }
    return this.reserve(size);
  }

  // Bumps the shared pointer (atomically: other threads allocate too) and grows the memory to cover it.
  // Fresh pages are zero and bump memory is never reused, so no clearing is needed.
  private reserve(size: number): number {
    const units = size / ALIGN;
    const ptr = Atomics.add(this.header, HDR_BUMP, units) * ALIGN;
    const end = ptr + size;
    const limit = this.maxBytes;
    while (this.memory.buffer.byteLength < end) {
      const cur = this.memory.buffer.byteLength;
      const want = Math.min(roundUp(Math.max(end, cur + GROW_CHUNK), PAGE), limit);
      if (want < end) {
        throw new BhembedError('kernel.failed', `WASM memory exhausted: need ${end} bytes, maximum is ${limit} (raise maximumBytes, at most 4 GiB)`, { need: end, limit });
      }
      try {
        this.memory.grow((want - cur) / PAGE);
      } catch (e) {
        // Another thread may have grown it meanwhile (the loop re-checks); otherwise the engine refused.
        if (this.memory.buffer.byteLength < end) {
          throw new BhembedError('kernel.failed', `WASM memory could not grow to ${want} bytes: ${(e as Error).message}`, { need: end });
        }
      }
    }
    return ptr;
  }

  private buffer(): ArrayBufferLike {
    const buf = this.memory.buffer;
    if (buf !== this.lastBuf) {
      this.known.add(buf);
      this.lastBuf = buf;
    }
    return buf;
  }

  // Byte offset of a view, after checking (once per SharedArrayBuffer object) that it is this memory.
  private ptr(a: View): number {
    const buf = a.buffer;
    if (buf !== this.lastBuf && !this.known.has(buf)) this.adopt(buf);
    return a.byteOffset;
  }

  private adopt(buf: ArrayBufferLike): void {
    const foreign = (): BhembedError => new BhembedError('kernel.failed', `wasm backend: an array was not allocated by this backend's allocF32/allocI32 (memory shared with ops.shared)`);
    if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < this.canary + 4) throw foreign();
    const probe = new Int32Array(buf, this.canary, 1);
    const next = (this.k.peek(this.canary) + 1) | 0;
    Atomics.store(probe, 0, next);
    if (this.k.peek(this.canary) !== next) throw foreign();
    this.known.add(buf);
  }

  private scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchBytes > 0) this.pushFree(this.scratchPtr, this.scratchBytes);
      this.scratchBytes = roundUp(Math.max(bytes, this.k.gemmScratchBytes()), ALIGN);
      this.scratchPtr = this.reserve(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  // --- dense linear algebra ---

  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void {
    const s = this.scratch(this.k.gemmScratchBytes());
    this.k.gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, this.ptr(a), this.ptr(b), beta, this.ptr(c), s);
  }

  addRowVector(y: Float32Array, v: Float32Array, m: number, n: number): void {
    this.k.addRowVector(this.ptr(y), this.ptr(v), m, n);
  }

  sumRows(x: Float32Array, m: number, n: number, out: Float32Array, accumulate: boolean): void {
    this.k.sumRows(this.ptr(x), m, n, this.ptr(out), accumulate ? 1 : 0);
  }

  // --- elementwise ---

  relu(x: Float32Array, y: Float32Array, n: number): void {
    this.k.relu(this.ptr(x), this.ptr(y), n);
  }

  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void {
    this.k.reluBackward(this.ptr(y), this.ptr(dy), this.ptr(dx), n);
  }

  sigmoid(x: Float32Array, y: Float32Array, n: number): void {
    this.k.sigmoid(this.ptr(x), this.ptr(y), n);
  }

  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.k.mul(this.ptr(a), this.ptr(b), this.ptr(out), n);
  }

  axpy(alpha: number, x: Float32Array, y: Float32Array, n: number): void {
    this.k.axpy(alpha, this.ptr(x), this.ptr(y), n);
  }

  dropoutMask(mask: Float32Array, n: number, p: number, seed: number): void {
    // keep ⟺ (h >>> 8)/2^24 ≥ p ⟺ (h >>> 8) ≥ ⌈p·2^24⌉ (exact: p·2^24 is a power-of-two scaling).
    const threshold = p <= 0 ? 0 : p >= 1 ? 1 << 24 : Math.ceil(p * 16777216);
    const keep = p >= 1 ? 0 : 1 / (1 - p);
    this.k.dropoutMask(this.ptr(mask), n, threshold, keep, seed | 0);
  }

  // --- loss ---

  bceWithLogits(logits: Float32Array, labels: Float32Array, n: number, dlogits: Float32Array, scale: number): number {
    return this.k.bceWithLogits(this.ptr(logits), this.ptr(labels), n, this.ptr(dlogits), scale);
  }

  // --- normalization ---

  batchNormTrain(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, momentum: number, eps: number, y: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void {
    this.k.batchNormTrain(this.ptr(x), m, n, this.ptr(gamma), this.ptr(beta), this.ptr(runMean), this.ptr(runVar), momentum, eps, this.ptr(y), this.ptr(saveMean), this.ptr(saveInvStd));
  }

  batchNormInfer(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, eps: number, y: Float32Array): void {
    const s = this.scratch(n * 4);
    this.k.batchNormInfer(this.ptr(x), m, n, this.ptr(gamma), this.ptr(beta), this.ptr(runMean), this.ptr(runVar), eps, this.ptr(y), s);
  }

  batchNormBackward(x: Float32Array, dy: Float32Array, m: number, n: number, gamma: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
    const s = this.scratch(n * 8);
    this.k.batchNormBackward(this.ptr(x), this.ptr(dy), m, n, this.ptr(gamma), this.ptr(saveMean), this.ptr(saveInvStd), this.ptr(dx), this.ptr(dGamma), this.ptr(dBeta), s);
  }

  // --- embedding bag ---

  embeddingBagForward(table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, out: Float32Array): void {
    const w = weights === null ? 0 : this.ptr(weights);
    this.k.embeddingBagForward(this.ptr(table), dim, this.ptr(rows), this.ptr(offsets), nSeg, w, weights === null ? 0 : 1, mean ? 1 : 0, this.ptr(out));
  }

  embeddingBagBackward(dOut: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, slot: Int32Array, uniqueRows: Int32Array, gradRows: Float32Array): number {
    const w = weights === null ? 0 : this.ptr(weights);
    return this.k.embeddingBagBackward(this.ptr(dOut), dim, this.ptr(rows), this.ptr(offsets), nSeg, w, weights === null ? 0 : 1, mean ? 1 : 0, this.ptr(slot), this.ptr(uniqueRows), this.ptr(gradRows));
  }

  embeddingBagWeightGrad(dOut: Float32Array, table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, mean: boolean, dWeights: Float32Array): void {
    this.k.embeddingBagWeightGrad(this.ptr(dOut), this.ptr(table), dim, this.ptr(rows), this.ptr(offsets), nSeg, mean ? 1 : 0, this.ptr(dWeights));
  }

  fusedBag(fields: readonly FusedBagField[], maxBatch: number, alloc: FusedBagAlloc = this): FusedBag {
    // forwardPlain's private instance: on an ordinary memory, once the private module has compiled.
    const plainHost = (bytes: number): FusedBagHost | null => {
      if (privateModuleReady === null) {
        privateKernelModule().catch(() => undefined);
        return null;
      }
      return WasmOps.createPrivate(privateModuleReady, bytes);
    };
    const kernel = (table: Float32Array, dim: number, B: number, F: number, fd: Int32Array, w: Float32Array, hw: boolean, out: Float32Array, os: number): void => {
      this.k.bhBagForward(this.ptr(table), dim, B, F, this.ptr(fd), this.ptr(w), hw ? 1 : 0, this.ptr(out), os);
    };
    return new WasmFusedBag(fields, maxBatch, alloc, kernel, this.isPrivate ? null : plainHost);
  }

  sparseGradMerge(dim: number, rows: Int32Array, grad: Float32Array, u: number, mod: number, rem: number, slot: Int32Array, outRows: Int32Array, outGrad: Float32Array, count: number): number {
    return this.k.sparseGradMerge(dim, this.ptr(rows), this.ptr(grad), u, mod, rem, this.ptr(slot), this.ptr(outRows), this.ptr(outGrad), count);
  }

  bhRows(ids: Int32Array, n: number, blocks: Int32Array, K: number, out: Int32Array, outStride: number, outOffset: number): void {
    this.k.bhRows(this.ptr(ids), n, this.ptr(blocks), K, this.ptr(out), outStride, outOffset);
  }

  // --- sparse optimizers ---

  sparseSgd(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number): void {
    this.k.sparseSgd(this.ptr(table), dim, this.ptr(rows), u, this.ptr(grad), lr, l2);
  }

  sparseAdagrad(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void {
    this.k.sparseAdagrad(this.ptr(table), this.ptr(acc), dim, this.ptr(rows), u, this.ptr(grad), lr, l2, eps);
  }

  sparseAdam(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void {
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bc2inv = 1 / (1 - Math.pow(beta2, step));
    this.k.sparseAdam(this.ptr(table), this.ptr(m), this.ptr(v), dim, this.ptr(rows), u, this.ptr(grad), stepSize, beta1, beta2, eps, l2, bc2inv);
  }

  // --- tables outside this memory (external-table.ts) ---

  /** Whether a table of `bytes` goes outside this memory: above heapTableBytes, or not fitting next to what it holds. */
  tableOutside(bytes: number): boolean {
    if (this.isPrivate) return false;
    return bytes > this.heapTableBytes || this.bytesAllocated + HEAP + bytes > this.maxBytes - STATE_HEADROOM_BYTES;
  }

  /**
   * Whether `a` is a view of this memory (the kernels can read it). Unlike ptr's check, it never leaves a write in a
   * foreign buffer (an embedding table outside this memory): it compares the canary word first and writes only when
   * the two agree, putting the old value back when the write shows another memory.
   */
  holds(a: Float32Array | Int32Array): boolean {
    const buf = a.buffer;
    if (buf === this.lastBuf || this.known.has(buf)) return true;
    if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < this.canary + 4) return false;
    const probe = new Int32Array(buf, this.canary, 1);
    const mine = this.k.peek(this.canary);
    if (Atomics.load(probe, 0) !== mine) return false;
    const next = (mine + 1) | 0;
    const old = Atomics.exchange(probe, 0, next);
    if (this.k.peek(this.canary) === next) {
      this.known.add(buf);
      return true;
    }
    Atomics.compareExchange(probe, 0, next, old);
    return false;
  }

  // --- optimizer state in memories of its own (row-state.ts) ---

  /**
   * Sharded optimizer state when `arrays` × numRows × dim floats exceed stateShardBytes or would not fit here
   * (keeping STATE_HEADROOM_BYTES free); null otherwise (the caller allocates it in this memory). With attach, this
   * thread's instances over another thread's shards. alloc: where this thread's staging goes. @default this
   */
  rowState(numRows: number, dim: number, arrays: 1 | 2, attach?: RowStateShared, alloc: Pick<Ops, 'allocF32' | 'allocI32' | 'free'> = this): RowState | null {
    const module = this.module;
    if (attach !== undefined) return ShardedRowState.attach(this, alloc, attach, (memory) => WasmOps.attach({ module, memory: memory as WasmMemory }));
    if (this.isPrivate) return null;
    const bytes = arrays * numRows * dim * 4;
    const fits = this.bytesAllocated + HEAP + bytes <= this.maxBytes - STATE_HEADROOM_BYTES;
    if (fits && bytes <= this.stateShardBytes) return null;
    const rowsPerShard = stateRowsPerShard(this.stateShardBytes, dim, arrays);
    return ShardedRowState.create(this, alloc, numRows, dim, arrays, rowsPerShard, (b) => this.shardOps(b));
  }

  rowSplit(table: Float32Array, grad: Float32Array, dim: number, rows: Int32Array, u: number, rowsPerShard: number, numShards: number, cap: number, l2: number, outRows: Int32Array, outG: Float32Array, counts: Int32Array): void {
    this.k.rowSplit(this.ptr(table), this.ptr(grad), dim, this.ptr(rows), u, rowsPerShard, numShards, cap, l2, this.ptr(outRows), this.ptr(outG), this.ptr(counts));
  }

  rowSubtract(table: Float32Array, dim: number, rows: Int32Array, n: number, lo: number, d: Float32Array): void {
    this.k.rowSubtract(this.ptr(table), dim, this.ptr(rows), n, lo, this.ptr(d));
  }

  sparseAdamStep(m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, gd: Float32Array, lr: number, beta1: number, beta2: number, eps: number, step: number): void {
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bc2inv = 1 / (1 - Math.pow(beta2, step));
    this.k.sparseAdamStep(this.ptr(m), this.ptr(v), dim, this.ptr(rows), u, this.ptr(gd), stepSize, beta1, beta2, eps, bc2inv);
  }

  sparseAdagradStep(acc: Float32Array, dim: number, rows: Int32Array, u: number, gd: Float32Array, lr: number, eps: number): void {
    this.k.sparseAdagradStep(this.ptr(acc), dim, this.ptr(rows), u, this.ptr(gd), lr, eps);
  }

  // --- dense optimizer ---

  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, step: number): void {
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bc2inv = 1 / (1 - Math.pow(beta2, step));
    this.k.adam(this.ptr(w), this.ptr(g), this.ptr(m), this.ptr(v), n, stepSize, beta1, beta2, eps, wd, bc2inv);
  }

  // --- interactions ---

  fmForward(x: Float32Array, b: number, f: number, d: number, out: Float32Array): void {
    this.k.fmForward(this.ptr(x), b, f, d, this.ptr(out));
  }

  fmBackward(x: Float32Array, dOut: Float32Array, b: number, f: number, d: number, dx: Float32Array): void {
    this.k.fmBackward(this.ptr(x), this.ptr(dOut), b, f, d, this.ptr(dx));
  }

  crossForward(x0: Float32Array, u: Float32Array, xl: Float32Array, out: Float32Array, n: number): void {
    this.k.crossForward(this.ptr(x0), this.ptr(u), this.ptr(xl), this.ptr(out), n);
  }

  crossBackward(x0: Float32Array, u: Float32Array, dOut: Float32Array, dU: Float32Array, dX0: Float32Array, n: number): void {
    this.k.crossBackward(this.ptr(x0), this.ptr(u), this.ptr(dOut), this.ptr(dU), this.ptr(dX0), n);
  }
}
