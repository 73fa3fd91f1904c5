// The one entry point other folders use to get a compute backend (Ops) and a dense GEMM provider.
// Callers never import wasm.ts or ort.ts directly: backend choice and fallbacks live here.

import { ENV_FLAGS } from '../core/env.js';
import { ConfigError } from '../core/errors.js';
import type { GemmProvider, Ops } from './ops.js';
import type { InferPrecision } from './quantize.js';
import { INFER_PRECISIONS } from './quantize.js';
import { ReferenceOps } from './reference.js';
import { privateKernelModule, WasmOps } from './wasm.js';

export type { BackendName, DenseTower, GemmProvider, Ops, TowerLayer } from './ops.js';
export type { FusedBag, FusedBagAlloc, FusedBagField } from './fused-bag.js';
export { ReferenceOps } from './reference.js';
export { WasmOps, loadKernelModule, loadKernelBytes, unsharedKernelBytes } from './wasm.js';
export type { WasmOpsOptions, WasmShared, WasmMemory, WasmModule } from './wasm.js';
export type { RowState, RowStateShared } from './row-state.js';
export { allocExternalF32, copyRows, gatherRows, scatterRows } from './external-table.js';
export type { OrtGemmOptions, OrtGemmProvider } from './ort.js';
export { activationQuant, INFER_PRECISIONS, quantizeColumns } from './quantize.js';
export type { ActivationQuant, InferPrecision, QuantizedColumns } from './quantize.js';

export type OpsKind = 'reference' | 'wasm' | 'auto';
export type GemmKind = 'auto' | 'ort' | 'wasm' | 'reference';

/** Options for createOps. Only the WASM backend reads them. */
export interface CreateOpsOptions {
  /** Bytes of WASM memory committed up front (it grows on demand; earlier arrays stay valid). @default 64 MiB */
  initialBytes?: number;
  /** Hard ceiling for WASM memory growth, at most 4 GiB (wasm32). @default 4 GiB */
  maximumBytes?: number;
  /**
   * Bytes the caller expects to allocate in the backend's main memory (tables, activations; not the row-wise
   * optimizer state, which the WASM backend keeps in memories of its own when it does not fit: see rowState).
   * When they cannot fit in wasm32 memory (4 GiB minus WASM_RESERVED_BYTES), 'wasm' and 'auto' throw a ConfigError
   * naming the size: there is no silent fallback to the (much slower) reference backend.
   */
  expectedBytes?: number;
  /** See WasmOpsOptions.stateShardBytes. @default 3.5 GiB */
  stateShardBytes?: number;
  /** See WasmOpsOptions.heapTableBytes: larger embedding tables live outside WASM memory (not counted in expectedBytes). */
  heapTableBytes?: number;
}

/** Headroom kept below 4 GiB for the allocator header, per-thread GEMM scratch and rounding. */
export const WASM_RESERVED_BYTES = 64 * 1024 * 1024;
const WASM_MAX_BYTES = 4 * 1024 * 1024 * 1024;

/** Whether `bytes` of arrays fit in one WASM backend's memory. */
export function fitsInWasm(bytes: number): boolean {
  return bytes <= WASM_MAX_BYTES - WASM_RESERVED_BYTES;
}

/** A compute backend. 'auto' = WASM when kernels.wasm loads, else reference. */
export async function createOps(kind: OpsKind = 'auto', opts: CreateOpsOptions = {}): Promise<Ops> {
  switch (kind) {
    case 'reference':
      return new ReferenceOps();
    case 'wasm':
    case 'auto':
      if (opts.expectedBytes !== undefined && !fitsInWasm(opts.expectedBytes)) {
        throw new ConfigError(
          `engine '${kind}': ${opts.expectedBytes} bytes of tables and activations exceed wasm32 memory (4 GiB; optimizer state is kept apart); use a smaller dim or table, or engine 'reference'`,
          { key: 'engine', value: kind },
        );
      }
      if (kind === 'wasm') return WasmOps.create(opts);
      try {
        return await WasmOps.create(opts);
      } catch {
        return new ReferenceOps();
      }
    default:
      throw new ConfigError(`engine: unknown backend '${String(kind)}'; allowed: 'reference' | 'wasm' | 'auto'`, { key: 'engine', value: kind });
  }
}

/** Wraps an Ops' own gemm as a GemmProvider (synchronous). */
export function opsGemmProvider(ops: Ops): GemmProvider {
  return {
    name: ops.name,
    gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => ops.gemm(transA, transB, m, n, k, alpha, a, b, beta, c),
  };
}

/** Options for createGemmProvider ('ort' and 'auto' read them). */
export interface GemmProviderOptions {
  /** ORT intra-op threads per GEMM. @default 1 */
  intraOpNumThreads?: number;
  /** 'ort' with the wasm backend: send every shape to ORT, even the skinny ones WASM does faster. @default false */
  pureOrt?: boolean;
  /** ORT intra-op threads for a fused tower's inference forward. @default 2 when the machine has 2+ cores */
  inferThreads?: number;
  /**
   * Numeric format of a fused tower's inference forward (training is always fp32). 'int8' runs the hidden layers
   * as int8 GEMMs through onnxruntime (about 3× faster at batch 4096, logits within ~1e-3 relative); it needs
   * the 'ort' provider, so with 'auto' a missing onnxruntime is a ConfigError instead of a silent fallback.
   * Batches of ≤ 8 rows still run fp32 (layer by layer). 'int8-static' quantizes each layer's input with a fixed
   * scale from calibrated ranges (DenseTower.forward's inputRanges): faster still, a row's output independent of
   * its batch, and every batch, even one row, runs int8. @default 'fp32'
   */
  inferPrecision?: InferPrecision;
  /** int8 towers quantize their weights once and never re-check them (only for models that never change). @default false */
  frozenWeights?: boolean;
}

/**
 * Whether a GEMM is too skinny or small for onnxruntime to pay off against the WASM kernel (staging copies,
 * per-call overhead). Measured on a 2-core Xeon (bench:engine): WASM wins for k ≤ 32 (ORT's 4096×400×8
 * is 4× slower), for matrix-vector shapes and below ~64³.
 */
export function preferWasmGemm(m: number, n: number, k: number): boolean {
  return k <= 32 || m <= 8 || n <= 8 || m * n * k <= 1 << 19;
}

/**
 * ORT for large GEMMs, the WASM kernel for skinny/small ones (arrays must belong to wasmOps). Because the choice
 * depends on m, a row's last bits can differ between batch sizes; the pure 'wasm' provider does not have this
 * (its no-transpose GEMM gives each row of C bit-identically for every m).
 */
export function hybridGemmProvider(ort: GemmProvider, wasmOps: Ops): GemmProvider {
  return {
    name: 'ort',
    gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) =>
      preferWasmGemm(m, n, k) ? wasmOps.gemm(transA, transB, m, n, k, alpha, a, b, beta, c) : ort.gemm(transA, transB, m, n, k, alpha, a, b, beta, c),
    tower: ort.tower ? (layers, opts) => ort.tower?.(layers, opts) : undefined,
    dispose: () => ort.dispose?.(),
  };
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * A dense GEMM provider for arrays allocated by `ops`.
 * - 'ort': onnxruntime-node (throws kernel.failed when it cannot load); synchronous in practice. With the wasm
 *   backend, skinny/small shapes still go to the WASM kernel (preferWasmGemm) unless opts.pureOrt.
 * - 'wasm': the WASM backend's own gemm (ops must be the wasm backend).
 * - 'reference': plain loops (any arrays).
 * - 'auto': BHEMBED_ENGINE when set to one of the above; else 'ort' in Node when it loads; else ops' own gemm.
 */
export async function createGemmProvider(kind: GemmKind, ops: Ops, opts: GemmProviderOptions = {}): Promise<GemmProvider> {
  const precision = opts.inferPrecision ?? 'fp32';
  if (!INFER_PRECISIONS.includes(precision)) {
    throw new ConfigError(`precision: unknown value '${String(precision)}'; allowed: ${INFER_PRECISIONS.map((p) => `'${p}'`).join(' | ')}`, { key: 'precision', value: precision });
  }
  if (precision !== 'fp32' && kind !== 'ort' && kind !== 'auto') {
    throw new ConfigError(`precision '${precision}' runs on onnxruntime: it needs gemm 'ort' or 'auto', got '${String(kind)}'`, { key: 'precision', value: precision });
  }
  switch (kind) {
    case 'ort':
      return precision !== 'fp32' ? createInt8Ort(ops, opts, precision) : createOrt(ops, opts, precision);
    case 'wasm':
      if (ops.name !== 'wasm') throw new ConfigError(`gemm 'wasm' needs the wasm backend, got '${ops.name}'; allowed with this backend: 'ort' | 'reference' | 'auto'`, { key: 'gemm', value: kind });
      return opsGemmProvider(ops);
    case 'reference':
      return opsGemmProvider(ops.name === 'reference' ? ops : new ReferenceOps());
    case 'auto': {
      const forced = ENV_FLAGS.BHEMBED_ENGINE;
      if (precision !== 'fp32') {
        if (forced === 'wasm' || forced === 'reference') {
          throw new ConfigError(`precision '${precision}' runs on onnxruntime, but BHEMBED_ENGINE=${forced} forces the '${forced}' GEMM; unset BHEMBED_ENGINE or use precision 'fp32'`, { key: 'precision', value: precision });
        }
        return createInt8Ort(ops, opts, precision);
      }
      if (forced === 'ort' || forced === 'wasm' || forced === 'reference') return createGemmProvider(forced, ops, opts);
      if (isNode()) {
        try {
          return await createGemmProvider('ort', ops, opts);
        } catch {
          // ORT missing or broken: fall back to the backend's own gemm.
        }
      }
      return opsGemmProvider(ops);
    }
    default:
      throw new ConfigError(`gemm: unknown provider '${String(kind)}'; allowed: 'auto' | 'ort' | 'wasm' | 'reference'`, { key: 'gemm', value: kind });
  }
}

// int8 serving has no fallback: when onnxruntime cannot load, say so (ConfigError naming the key) instead of
// silently serving fp32 at a third of the speed.
async function createInt8Ort(ops: Ops, opts: GemmProviderOptions, precision: InferPrecision): Promise<GemmProvider> {
  if (!isNode()) throw new ConfigError(`precision '${precision}' needs onnxruntime-node (Node.js only); use precision 'fp32'`, { key: 'precision', value: precision });
  try {
    return await createOrt(ops, opts, precision);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // onnxruntime-node is an optional peer dependency (its installer downloads CUDA files unless told not to).
    const missing = /ERR_MODULE_NOT_FOUND|Cannot find (package|module) 'onnxruntime-node'/.test(`${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
    if (missing) {
      throw new ConfigError(
        `precision '${precision}' needs onnxruntime-node, an optional dependency that is not installed: add it with \`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node\` (the variable keeps its installer from downloading CUDA files), or use precision 'fp32'`,
        { key: 'precision', value: precision },
      );
    }
    throw new ConfigError(`precision '${precision}' needs onnxruntime-node, which could not be loaded (${(e as Error).message.split('\n')[0]}); use precision 'fp32'`, { key: 'precision', value: precision });
  }
}

async function createOrt(ops: Ops, opts: GemmProviderOptions, precision: InferPrecision): Promise<GemmProvider> {
  const { OrtGemmProvider } = await import('./ort.js');
  // Towers keep their activations in a private (non-shared) WASM memory when the kernels load: ORT reads it
  // in place and the WASM ReLU backward runs on it. Else ordinary arrays and a plain loop.
  let privateOps: ((bytes: number) => Ops) | undefined;
  if (ops.name === 'wasm') {
    const mod = await privateKernelModule().catch(() => null);
    if (mod !== null) privateOps = (bytes) => WasmOps.createPrivate(mod, bytes);
  }
  const ort = await OrtGemmProvider.create({ intraOpNumThreads: opts.intraOpNumThreads, inferThreads: opts.inferThreads, privateOps, inferPrecision: precision, frozenWeights: opts.frozenWeights });
  return ops.name === 'wasm' && opts.pureOrt !== true ? hybridGemmProvider(ort, ops) : ort;
}
