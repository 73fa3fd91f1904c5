// The one entry point other folders use to get a compute backend (Ops) and a dense GEMM provider.
// Callers never import wasm.ts or ort.ts directly: backend choice and fallbacks live here.

import { ConfigError } from '../core/errors.js';
import type { GemmProvider, Ops } from './ops.js';
import { ReferenceOps } from './reference.js';
import { WasmOps } from './wasm.js';

export type { BackendName, GemmProvider, Ops } from './ops.js';
export { ReferenceOps } from './reference.js';
export { WasmOps, loadKernelModule, loadKernelBytes } from './wasm.js';
export type { WasmOpsOptions, WasmShared } from './wasm.js';

export type OpsKind = 'reference' | 'wasm' | 'auto';
export type GemmKind = 'auto' | 'ort' | 'wasm' | 'reference';

/** Options for createOps. Only the WASM backend reads them. */
export interface CreateOpsOptions {
  /** Bytes of WASM memory committed up front (it grows on demand; earlier arrays stay valid). @default 64 MiB */
  initialBytes?: number;
  /** Hard ceiling for WASM memory growth, at most 4 GiB (wasm32). @default 4 GiB */
  maximumBytes?: number;
}

/** A compute backend. 'auto' = WASM when kernels.wasm loads, else reference. */
export async function createOps(kind: OpsKind = 'auto', opts: CreateOpsOptions = {}): Promise<Ops> {
  switch (kind) {
    case 'reference':
      return new ReferenceOps();
    case 'wasm':
      return WasmOps.create(opts);
    case 'auto':
      try {
        return await WasmOps.create(opts);
      } catch {
        return new ReferenceOps();
      }
    default:
      throw new ConfigError(`engine: unknown backend '${String(kind)}'; allowed: 'reference' | 'wasm' | 'auto'`, { key: 'engine', value: kind });
  }
}

/** Wraps an Ops' own gemm as a GemmProvider. */
export function opsGemmProvider(ops: Ops): GemmProvider {
  return {
    name: ops.name,
    gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => ops.gemm(transA, transB, m, n, k, alpha, a, b, beta, c),
  };
}

/**
 * A dense GEMM provider. 'auto' = onnxruntime when it loads (Node), else the Ops' own gemm.
 * (ORT is not wired yet: every kind currently wraps ops.gemm.)
 */
export async function createGemmProvider(kind: GemmKind, ops: Ops): Promise<GemmProvider> {
  switch (kind) {
    case 'auto':
    case 'ort':
    case 'wasm':
    case 'reference':
      return opsGemmProvider(ops);
    default:
      throw new ConfigError(`engine: unknown gemm provider '${String(kind)}'; allowed: 'auto' | 'ort' | 'wasm' | 'reference'`, { key: 'gemm', value: kind });
  }
}
