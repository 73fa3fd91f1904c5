// The contract between the data readers and their consumers (train/, cli/): one interface, one options type,
// and the skip accounting every reader shares. Readers never print; the CLI prints `stats.skipped` at the end.

import { DataError } from '../core/errors.js';
import type { DataChunk, FieldInfo } from './chunk.js';
import type { TableSchema } from './schema.js';

export type DataFormat = 'criteo' | 'avazu' | 'libsvm' | 'libfm' | 'libffm' | 'csv' | 'tsv' | 'parquet';
export const DATA_FORMATS: readonly DataFormat[] = ['criteo', 'avazu', 'libsvm', 'libfm', 'libffm', 'csv', 'tsv', 'parquet'];

export type OnError = 'fail' | 'skip';

export interface ReaderOptions {
  /** Rows per chunk. @default 8192 */
  chunkRows?: number;
  /** 'fail': throw DataError `file:line: reason` at the first bad row. 'skip': count it in stats.skipped. @default 'fail' */
  onError?: OnError;
  /** A longer line is an error ('line longer than N bytes'). @default 1048576 */
  maxLineBytes?: number;
  /** Stop each pass after this many good rows. @default Infinity */
  maxRows?: number;
  /**
   * criteo: 'category' sends I1..I13 as categories (v > 2 → floor(ln(v)²), else v; missing → "").
   * 'dense' sends them as 13 dense log(1 + v) values instead (missing → 0, negative → 0).
   * @default 'category'
   */
  numeric?: 'category' | 'dense';
  /** avazu: replace `hour` (YYMMDDHH) by two fields `hour_of_day` (HH) and `weekday` (0 = Sunday … 6). @default false */
  splitHour?: boolean;
  /** csv/tsv/parquet: the table schema or the path of its JSON file (src/data/schema.ts). */
  schema?: TableSchema | string;
  /** libsvm/libfm/libffm: number of fields. When absent, a file is scanned once to find it (stdin needs it). */
  numFields?: number;
  /**
   * Whether rows carry a label. 'require': they must (training, eval). 'none': no label column or token; every
   * column is read as in training and a label column that is present anyway is ignored. 'detect': decide from the
   * header (avazu `click`, the schema's label in a csv/tsv header or parquet file) or from the first row (criteo: 39
   * columns instead of 40; libsvm/libfm/libffm: the first token is a feature `idx:val`); `reader.hasLabels` tells.
   * Unlabelled rows get label 0. @default 'require'
   */
  labels?: LabelMode;
  /**
   * avazu/csv/tsv/parquet: a column whose text each chunk passes through per row (`chunk.keys`), e.g. Avazu's `id`,
   * so predictions can be joined back to the input. It may also be a feature column.
   */
  idColumn?: string;
  /**
   * avazu/csv/tsv/parquet: a column of per-row sample weights (finite numbers ≥ 0, e.g. an importance weight or the
   * count of a deduplicated row). A row of weight w counts as w copies of it in the training loss, its gradients and
   * the metrics (AUC over pairs weighted w_i·w_j, logloss as a weighted mean). The column is never a feature (avazu
   * drops it like `id`; a csv/tsv/parquet schema may not name it). criteo and libsvm/libfm/libffm rows have no
   * named columns: read such files with --format tsv/csv and a schema (header false names columns by position).
   */
  weightColumn?: string;
  /**
   * What happens to weightColumn. 'require': read it (training); a missing column is an error. 'detect': read it when
   * the header has it, else every row weighs 1 (eval). 'ignore': drop the column unread when present (predict,
   * serve: a probability does not depend on a weight). @default 'require'
   */
  weights?: WeightMode;
  /**
   * libsvm/libfm: fewest features a row may have; libffm: fewest distinct fields. A model records what its training
   * rows all had, so rows of another dataset (lastfm's 3 tokens read by a 10-field frappe model) are refused as
   * 'field-count' errors instead of being scored with padded fields. @default 0
   */
  minFeatures?: number;
  /**
   * libsvm/libfm/libffm: whether each value's weight (`val` of `idx:val`) reaches the model. false reads every
   * weight as 1 (`val` is still checked). A model file records true (its reader settings); a file without the key
   * was written by bhembed 0.1.0, which trained and scored with every weight 1 (models/model-codec.ts
   * ignoresValueWeights). @default true
   */
  valueWeights?: boolean;
}

export type LabelMode = 'require' | 'none' | 'detect';
export type WeightMode = 'require' | 'detect' | 'ignore';
export const WEIGHT_MODES: readonly WeightMode[] = ['require', 'detect', 'ignore'];
export const LABEL_MODES: readonly LabelMode[] = ['require', 'none', 'detect'];

/** Rows dropped under onError 'skip', per reason kind, with the first full message of each kind. */
export interface SkipStats {
  counts: Record<string, number>;
  examples: Record<string, string>;
}

export interface PassStats {
  /** Lines (text) or records (parquet) looked at in the last pass, header included. */
  lines: number;
  /** Good rows emitted in the last pass. */
  rows: number;
  skipped: SkipStats;
  /** Total of skipped.counts. */
  skippedRows: number;
}

/**
 * A streaming reader over one file. Each call to chunks() is a fresh pass from the first row; memory stays
 * bounded by one chunk plus one read block. stdin ('-') allows one pass only.
 *
 * @example
 *   const r = await openReader('criteo', 'train.txt.gz', { onError: 'skip' });
 *   for await (const chunk of r.chunks()) train(chunk);
 *   console.log(r.stats.skipped.counts);
 */
export interface DataReader {
  readonly format: DataFormat;
  /** The path as given ('-' for stdin). */
  readonly path: string;
  readonly fields: readonly FieldInfo[];
  readonly fieldNames: readonly string[];
  readonly numFields: number;
  readonly denseNames: readonly string[];
  readonly numDense: number;
  /** false when the rows have no label (options.labels 'none', or 'detect' found none): chunk labels are 0. */
  readonly hasLabels: boolean;
  /** The options.idColumn read into chunk.keys, if any. */
  readonly idColumn?: string;
  /** The options.weightColumn when its weights are read into chunk.sampleWeights ('require', or 'detect' that found it). */
  readonly weightColumn?: string;
  /** libsvm/libfm/libffm: fewest features (libffm: fields) on any good row of the last pass (Infinity before one). */
  readonly minFeaturesSeen?: number;
  /** false for stdin: a second chunks() call throws IoError. */
  readonly canRewind: boolean;
  /** Counts of the most recent (or running) pass. */
  readonly stats: PassStats;
  chunks(): AsyncGenerator<DataChunk, void, undefined>;
}

export function emptyStats(): PassStats {
  return { lines: 0, rows: 0, skipped: { counts: {}, examples: {} }, skippedRows: 0 };
}

export function recordSkip(stats: PassStats, kind: string, message: string): void {
  const c = stats.skipped.counts;
  if (c[kind] === undefined) {
    c[kind] = 0;
    stats.skipped.examples[kind] = message;
  }
  c[kind]++;
  stats.skippedRows++;
}

/** One line per reason kind, e.g. `skipped 3 rows (field-count), first: train.txt:17: expected 40 …`. */
export function formatSkips(stats: PassStats): string[] {
  return Object.keys(stats.skipped.counts).map(
    (k) => `skipped ${stats.skipped.counts[k]} row(s) (${k}), first: ${stats.skipped.examples[k]}`,
  );
}

/** A file whose every row was skipped (onError 'skip') has nothing to train on or score: a DataError, not 0 rows. */
export function checkSomeRows(path: string, stats: PassStats): void {
  if (stats.rows > 0) return;
  const first = Object.values(stats.skipped.examples)[0];
  throw new DataError(`${path}: no usable rows: all ${stats.skippedRows} row(s) were skipped as bad${first ? ` (first: ${first})` : ''}`, { file: path });
}
