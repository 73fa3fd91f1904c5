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
}

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
