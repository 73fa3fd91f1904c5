// ModelConfig: the plain-JSON description of a CTR model (architecture, widths, fields and their index specs).
// It survives postMessage, model files and CLI JSON; normalizeModelConfig() validates it once and fills defaults.

import { ConfigError } from '../core/errors.js';
import type { IndexSpec } from '../embedding/config.js';
import { normalizeIndexSpec } from '../embedding/config.js';
import { FUSIONS, POOLINGS, type Fusion, type Pooling } from '../nn/embedding-bag.js';

export type Arch = 'lr' | 'fm' | 'dnn' | 'wdl' | 'deepfm' | 'dcnv2';
export const ARCHS: readonly Arch[] = ['lr', 'fm', 'dnn', 'wdl', 'deepfm', 'dcnv2'];

export interface FieldConfig {
  /** Display name (e.g. 'C1'). @default `f${i}` */
  name?: string;
  /** How this field's hash ids map to table rows. */
  index: IndexSpec;
  /** How the K rows of one value are fused. @default 'sum' */
  fusion?: Fusion;
  /** How the values of a multi-valued field are pooled. @default 'mean' */
  pooling?: Pooling;
}

export interface ModelConfig {
  arch: Arch;
  /** Embedding width per row. @default 16 */
  dim?: number;
  /** Hidden sizes of the deep tower (dnn, wdl, deepfm, dcnv2). @default [256, 128] */
  mlp?: number[];
  /** Dropout after each hidden ReLU. @default 0 */
  dropout?: number;
  /** Batch norm after each hidden Linear. @default false */
  batchNorm?: boolean;
  /** DCN-v2 cross layers. @default 3 */
  crossLayers?: number;
  fields: FieldConfig[];
  /** Numeric inputs per sample, fed as a dense vector to the deep input and the linear term. @default 0 */
  numDense?: number;
  /** Std of the normal init of embedding rows. @default 0.01 */
  initStd?: number;
  /** Initialization seed. @default 1 */
  seed?: number;
}

export interface NormalizedFieldConfig {
  name: string;
  index: IndexSpec;
  fusion: Fusion;
  pooling: Pooling;
}

export interface NormalizedModelConfig {
  arch: Arch;
  dim: number;
  mlp: number[];
  dropout: number;
  batchNorm: boolean;
  crossLayers: number;
  fields: NormalizedFieldConfig[];
  numDense: number;
  initStd: number;
  seed: number;
}

/** Identity helper for typed config literals. */
export function defineModelConfig(c: ModelConfig): ModelConfig {
  return c;
}

function posInt(v: unknown, key: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`${key}: must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, { key, value: v });
  return v;
}

export function normalizeModelConfig(raw: ModelConfig): NormalizedModelConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('model: config must be an object', { key: 'model' });
  if (!ARCHS.includes(raw.arch)) throw new ConfigError(`arch: '${String(raw.arch)}' is not one of ${ARCHS.join(' | ')}`, { key: 'arch', value: raw.arch, allowed: ARCHS });
  const dim = posInt(raw.dim ?? 16, 'dim', 1);
  const mlp = (raw.mlp ?? [256, 128]).map((h, i) => posInt(h, `mlp[${i}]`, 1));
  const dropout = raw.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw new ConfigError(`dropout: must be in [0, 1), got ${JSON.stringify(dropout)}`, { key: 'dropout' });
  const batchNorm = raw.batchNorm ?? false;
  if (typeof batchNorm !== 'boolean') throw new ConfigError('batchNorm: must be true or false', { key: 'batchNorm' });
  const crossLayers = posInt(raw.crossLayers ?? 3, 'crossLayers', 0);
  const numDense = posInt(raw.numDense ?? 0, 'numDense', 0);
  const initStd = raw.initStd ?? 0.01;
  if (typeof initStd !== 'number' || !(initStd >= 0)) throw new ConfigError(`initStd: must be ≥ 0, got ${JSON.stringify(initStd)}`, { key: 'initStd' });
  const seed = posInt(raw.seed ?? 1, 'seed', 0);
  if (!Array.isArray(raw.fields) || raw.fields.length === 0) throw new ConfigError('fields: must be a non-empty array of { index, fusion?, pooling? }', { key: 'fields' });
  const fields = raw.fields.map((f, i): NormalizedFieldConfig => {
    const fusion = f.fusion ?? 'sum';
    if (!FUSIONS.includes(fusion)) throw new ConfigError(`fields[${i}].fusion: '${String(fusion)}' is not one of ${FUSIONS.join(' | ')}`, { key: `fields[${i}].fusion`, allowed: FUSIONS });
    const pooling = f.pooling ?? 'mean';
    if (!POOLINGS.includes(pooling)) throw new ConfigError(`fields[${i}].pooling: '${String(pooling)}' is not one of ${POOLINGS.join(' | ')}`, { key: `fields[${i}].pooling`, allowed: POOLINGS });
    return { name: f.name ?? `f${i}`, index: normalizeIndexSpec(f.index, `fields[${i}].index`), fusion, pooling };
  });
  return { arch: raw.arch, dim, mlp, dropout, batchNorm, crossLayers, fields, numDense, initStd, seed };
}
