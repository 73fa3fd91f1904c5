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
  /**
   * This field's embedding width, when not the model's `dim` (e.g. 4 for a field of 3 values, 32 for user ids). The
   * deep tower and DCN-v2 take fields of mixed widths; FM and DeepFM need one width for all. @default the model's dim
   */
  dim?: number;
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
  /** Present only when it differs from the model's dim (so uniform models normalize as before per-field dims). */
  dim?: number;
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
    const out: NormalizedFieldConfig = { name: f.name ?? `f${i}`, index: normalizeIndexSpec(f.index, `fields[${i}].index`), fusion, pooling };
    if (f.dim !== undefined) out.dim = posInt(f.dim, `fields[${i}].dim`, 1);
    return out;
  });
  // One width for every field (all given the same dim): that is the model's dim, and the config reads as a uniform one.
  const dims = new Set(fields.map((f) => f.dim ?? dim));
  const modelDim = dims.size === 1 ? [...dims][0] : dim;
  for (const f of fields) if (f.dim === modelDim) delete f.dim;
  const config: NormalizedModelConfig = { arch: raw.arch, dim: modelDim, mlp, dropout, batchNorm, crossLayers, fields, numDense, initStd, seed };
  checkMixedDims(config);
  return config;
}

/** Field i's embedding width. */
export function fieldDim(config: NormalizedModelConfig, i: number): number {
  return config.fields[i].dim ?? config.dim;
}

/** Some field has its own width (the model then has one embedding table per distinct width). */
export function hasMixedDims(config: NormalizedModelConfig): boolean {
  return config.fields.some((f) => f.dim !== undefined);
}

/**
 * FM's pairwise term ⟨e_i, e_j⟩ (Rendle 2010) needs every field vector of one width, so FM and DeepFM (whose FM part
 * shares the deep part's embeddings, Guo et al. 2017) refuse mixed widths, as DeepCTR-Torch's BaseModel.embedding_size
 * does ("embedding_dim of SparseFeat and VarlenSparseFeat must be same in this model!"). DNN, W&D and DCN-v2
 * concatenate the field vectors (DCN-v2's cross layer x0 ⊙ (W·x_l + b) + x_l is element-wise on the concatenation,
 * Wang et al. 2021, eq. 1, so any widths work); LR has no embedding table.
 */
function checkMixedDims(c: NormalizedModelConfig): void {
  const e = mixedDimsError(c.arch, c.dim, c.fields.filter((f) => f.dim !== undefined) as { name: string; dim: number }[]);
  if (e !== null) throw e;
}

/** The refusal of fields with their own dim (`own`) in an architecture that needs one width, or null when allowed. */
export function mixedDimsError(arch: Arch, dim: number, own: readonly { name: string; dim: number }[], where?: string): ConfigError | null {
  const differ = own.filter((f) => f.dim !== dim);
  if (differ.length === 0 || (arch !== 'fm' && arch !== 'deepfm')) return null;
  return new ConfigError(
    `${where !== undefined ? `${where}: ` : ''}arch '${arch}': the FM term multiplies every pair of field vectors, so all fields need one dim; ${differ.length === 1 ? 'field' : 'fields'} ${differ.map((f) => `${f.name} (dim ${f.dim})`).join(', ')} ${differ.length === 1 ? 'differs' : 'differ'} from the model's dim ${dim} (DeepCTR likewise requires one embedding_dim for FM models); drop their "dim", or use dnn, wdl or dcnv2, which take per-field dims`,
    { key: 'fields.dim', arch, fields: differ.map((f) => f.name) },
  );
}
