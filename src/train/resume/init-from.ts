// `train --init-from`: the weights (and, from a checkpoint, the optimizer state and step) a run starts from, and the
// check that the new run's model is the same model. A model file (.bhm) gives weights only: the optimizer starts
// afresh. A checkpoint folder or file (.bhck) gives weights, optimizer state and the step counter (Adam's bias
// correction goes on), so continuing a day's training is the same optimizer as one run over both days.

import { statSync } from 'node:fs';
import { ConfigError, IoError } from '../../core/errors.js';
import type { NamedTensor } from '../../models/model-codec.js';
import { readModelFile } from '../../models/model-file.js';
import type { NormalizedFieldConfig, NormalizedModelConfig } from '../../models/config.js';
import { readCheckpoint, readLatestCheckpoint, type CheckpointContents } from './checkpoint-file.js';

export interface InitSource {
  /** The file the weights came from (the newest checkpoint of a folder). */
  path: string;
  kind: 'model' | 'checkpoint';
  /** Normalized model config: arch, dims, fields and their index specs (tables are kept as they are). */
  config: NormalizedModelConfig;
  /** The embedding method the source run asked for ('bh', 'full', …), when recorded. */
  method?: string;
  /** Model weights, plus 'optim.*' tensors from a checkpoint. */
  tensors: NamedTensor[];
  /** The memory target the source was planned with (--compression, --block-bits, …), when recorded. */
  target?: Record<string, unknown>;
  /** The optimizer state and step travel too (checkpoints only). */
  optimizer: { kind: string; step: number } | null;
}

/** Read a model file, a checkpoint file or a checkpoint folder (its newest checkpoint). */
export function readInitSource(path: string): InitSource {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    throw new IoError(`--init-from ${path}: no such model file, checkpoint or checkpoint folder`, { file: path });
  }
  if (dir || /\.bhck$/i.test(path)) return fromCheckpoint(dir ? readLatestCheckpoint(path) : readCheckpoint(path));
  const f = readModelFile(path);
  const emb = (f.meta as { embedding?: { method?: unknown; target?: Record<string, unknown> } }).embedding;
  return {
    path,
    kind: 'model',
    config: f.model as NormalizedModelConfig,
    method: typeof emb?.method === 'string' ? emb.method : undefined,
    target: emb?.target,
    tensors: f.tensors,
    optimizer: null,
  };
}

function fromCheckpoint(c: CheckpointContents): InitSource {
  const loop = c.header.trainer as { step?: unknown };
  const mo = (c.header.run as { modelOptions?: Record<string, unknown> & { method?: unknown; optimizer?: unknown } }).modelOptions;
  const target: Record<string, unknown> = {};
  for (const k of ['compression', 'memoryBudget', 'blockBits', 'codeBits', 'hotShare']) if (mo?.[k] !== undefined) target[k] = mo[k];
  return {
    path: c.path,
    kind: 'checkpoint',
    config: c.model as NormalizedModelConfig,
    method: typeof mo?.method === 'string' ? mo.method : undefined,
    target: mo !== undefined ? target : undefined,
    tensors: c.tensors,
    optimizer: { kind: typeof mo?.optimizer === 'string' ? mo.optimizer : 'unknown', step: typeof loop.step === 'number' ? loop.step : 0 },
  };
}

/** 'key: theirs X, this run Y' for every model setting that differs (JSON-equal values are the same). */
export function configDifferences(theirs: NormalizedModelConfig, ours: NormalizedModelConfig): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => {
    const s = JSON.stringify(v) ?? 'none';
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  };
  const cmp = (key: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${key}: ${show(a)} in the model, ${show(b)} here`);
  };
  cmp('arch', theirs.arch, ours.arch);
  cmp('dim', theirs.dim, ours.dim);
  cmp('mlp', theirs.mlp, ours.mlp);
  cmp('numDense', theirs.numDense, ours.numDense);
  cmp('dropout', theirs.dropout, ours.dropout);
  cmp('batchNorm', theirs.batchNorm, ours.batchNorm);
  cmp('crossLayers', theirs.crossLayers, ours.crossLayers);
  if (theirs.fields.length !== ours.fields.length) {
    out.push(`fields: ${theirs.fields.length} in the model, ${ours.fields.length} here`);
    return out;
  }
  theirs.fields.forEach((f, i) => {
    const g = ours.fields[i];
    const at = `fields[${i}]`;
    cmp(`${at}.name`, f.name, g.name);
    cmp(`${at}.fusion`, f.fusion, g.fusion);
    cmp(`${at}.pooling`, f.pooling, g.pooling);
    cmp(`${at}.index`, f.index, g.index);
    // Each field's width (its own "dim", or the model's): the tables of another width cannot be loaded.
    const d = (c: NormalizedModelConfig, x: NormalizedFieldConfig): number => x.dim ?? c.dim;
    if (d(theirs, f) !== d(ours, g)) out.push(`${at} (${f.name}).dim: ${d(theirs, f)} in the model, ${d(ours, g)} here`);
  });
  return out;
}

/** Throws a ConfigError listing every difference (one line). */
export function refuseDifferences(what: string, diffs: string[]): void {
  if (diffs.length === 0) return;
  const shown = diffs.slice(0, 8).join('; ') + (diffs.length > 8 ? `; and ${diffs.length - 8} more` : '');
  throw new ConfigError(`${what}: ${diffs.length} difference(s): ${shown}`, { differences: diffs });
}
