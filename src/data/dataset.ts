// Whole-file loading for training: every chunk of one pass concatenated into one columnar DataChunk in memory.
// Streaming consumers should iterate reader.chunks() instead; this is for data that fits in RAM.

import { concatChunks } from './chunk.js';
import type { DataChunk, FieldInfo } from './chunk.js';
import { openReader } from './open.js';
import type { DataFormat, DataReader, PassStats, ReaderOptions } from './reader.js';

export interface Dataset extends DataChunk {
  fieldInfo: readonly FieldInfo[];
  fieldNames: readonly string[];
  numFields: number;
  denseNames: readonly string[];
  /** Stats of the pass that loaded it (skipped rows per reason). */
  stats: PassStats;
  /** libsvm/libfm/libffm: fewest features (libffm: fields) on any row (DataReader.minFeaturesSeen). */
  minFeaturesSeen?: number;
}

/**
 * Load all rows (or options.maxRows) of a file, or of an open reader, into one columnar dataset.
 *
 * @example
 *   const ds = await loadDataset('criteo', 'train.txt', { maxRows: 1_000_000 });
 *   ds.rows; ds.labels; ds.fields[0].ids;
 */
export async function loadDataset(source: DataReader): Promise<Dataset>;
export async function loadDataset(format: DataFormat, path: string, options?: ReaderOptions): Promise<Dataset>;
export async function loadDataset(a: DataReader | DataFormat, path?: string, options: ReaderOptions = {}): Promise<Dataset> {
  const reader = typeof a === 'string' ? await openReader(a, path as string, options) : a;
  const parts: DataChunk[] = [];
  for await (const c of reader.chunks()) parts.push(c);
  const all = concatChunks(parts, reader.fields, reader.numDense);
  return {
    ...all,
    fieldInfo: reader.fields,
    fieldNames: reader.fieldNames,
    numFields: reader.numFields,
    denseNames: reader.denseNames,
    stats: reader.stats,
    ...(reader.minFeaturesSeen !== undefined && Number.isFinite(reader.minFeaturesSeen) ? { minFeaturesSeen: reader.minFeaturesSeen } : {}),
  };
}
