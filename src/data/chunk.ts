// The one columnar chunk type every reader emits, and the builder readers fill row by row. A chunk holds up to N
// rows: labels, one hash-id column per field (optionally multi-valued with offsets and per-value weights) and an
// optional dense block. Pure data: no I/O here, no parsing.

import type { HashIds } from '../core/ids.js';

/** Per-field description a reader publishes once (names and shapes never change between chunks). */
export interface FieldInfo {
  name: string;
  /** true: a row holds 0..n values (FieldColumn.offsets is set). */
  multiValued: boolean;
  /** true: FieldColumn.weights is set (libsvm/libffm values; the model multiplies them into the value's rows). */
  weighted: boolean;
  /** How the model pools a multi-valued field's values (the model config's `pooling`; weights stay raw). */
  pooling?: 'sum' | 'mean';
}

/**
 * One field's values for the rows of a chunk.
 *
 *   single-valued: ids = [lo0, hi0, lo1, hi1, …]              one 64-bit id per row
 *   multi-valued:  "tags": [7, 9] [""] [3]  ->  ids = [h7, h9, h"", h3]  offsets = [0, 2, 3, 4]
 */
export interface FieldColumn {
  /** 64-bit hash ids, 2 u32 words each (src/core/ids.ts). Id of value v of field f = XXH64(UTF-8 bytes of v, seed f). */
  ids: HashIds;
  /** rows + 1 entries when multi-valued: the values of row r are [offsets[r], offsets[r+1]). */
  offsets?: Uint32Array;
  /** One weight per value when the field is weighted. */
  weights?: Float32Array;
}

export interface DataChunk {
  rows: number;
  /** 0 or 1 per row. */
  labels: Float32Array;
  /** One column per field, in reader.fields order. */
  fields: FieldColumn[];
  /** rows × numDense, row-major; present when numDense > 0. */
  dense?: Float32Array;
  numDense: number;
  /**
   * Each row's place in its input: the 0-based index of its data row (text: line number − 1 − header lines;
   * parquet: record index), counting rows that were skipped as bad, so it lines up with the input after a skip.
   */
  positions?: Float64Array;
  /** The text of the reader's idColumn per row (ReaderOptions.idColumn). */
  keys?: string[];
  /** Each row's sample weight, read from the reader's weightColumn (ReaderOptions.weightColumn); absent: all 1. */
  sampleWeights?: Float32Array;
}

/** Number of values a column holds for `rows` rows. */
export function columnLength(col: FieldColumn, rows: number): number {
  return col.offsets ? col.offsets[rows] : rows;
}

/**
 * Fills one chunk row by row. Single-valued ids are written by the parser straight into `ids[f]` at id index
 * `rows`; multi-valued values go through pushId/pushHash. A row becomes visible only at commitRow(), so a parser
 * that finds an error halfway through a line calls abortRow() and nothing of that line survives.
 */
export class ChunkBuilder {
  readonly capacity: number;
  readonly numFields: number;
  readonly numDense: number;
  rows = 0;
  labels!: Float32Array;
  ids!: Uint32Array[];
  offsets!: (Uint32Array | null)[];
  weights!: (Float32Array | null)[];
  dense!: Float32Array | null;
  /** Input position of each row (DataChunk.positions); the reader writes it before commitRow(). */
  positions!: Float64Array;
  /** Id-column text per row, when the reader passes one through (DataChunk.keys). */
  keys!: string[] | null;
  /** Sample weight per row, when the reader reads a weight column (DataChunk.sampleWeights; the reader writes 1 first). */
  sampleWeights!: Float32Array | null;
  private readonly withKeys: boolean;
  private readonly withWeights: boolean;
  /** Values pushed so far per multi-valued field (including the open row). */
  private nvals: number[];
  private readonly fieldInfo: readonly FieldInfo[];

  constructor(capacity: number, fields: readonly FieldInfo[], numDense: number, opts: { keys?: boolean; sampleWeights?: boolean } = {}) {
    this.capacity = capacity;
    this.withKeys = opts.keys === true;
    this.withWeights = opts.sampleWeights === true;
    this.fieldInfo = fields;
    this.numFields = fields.length;
    this.numDense = numDense;
    this.nvals = new Array<number>(fields.length).fill(0);
    this.reset();
  }

  private reset(): void {
    const cap = this.capacity;
    this.rows = 0;
    this.labels = new Float32Array(cap);
    this.ids = [];
    this.offsets = [];
    this.weights = [];
    for (let f = 0; f < this.numFields; f++) {
      const info = this.fieldInfo[f];
      const perRow = info.multiValued ? 2 : 1;
      this.ids.push(new Uint32Array(2 * cap * perRow));
      this.offsets.push(info.multiValued ? new Uint32Array(cap + 1) : null);
      this.weights.push(info.weighted ? new Float32Array(cap * perRow) : null);
      this.nvals[f] = 0;
    }
    this.dense = this.numDense > 0 ? new Float32Array(cap * this.numDense) : null;
    this.positions = new Float64Array(cap);
    this.keys = this.withKeys ? [] : null;
    this.sampleWeights = this.withWeights ? new Float32Array(cap) : null;
  }

  get full(): boolean {
    return this.rows >= this.capacity;
  }

  /** Room for one more value of multi-valued field f; returns its value index. */
  private grow(f: number): number {
    const n = this.nvals[f];
    let ids = this.ids[f];
    if (2 * n + 2 > ids.length) {
      const bigger = new Uint32Array(Math.max(16, ids.length * 2));
      bigger.set(ids);
      this.ids[f] = ids = bigger;
      const w = this.weights[f];
      if (w) {
        const wb = new Float32Array(bigger.length / 2);
        wb.set(w);
        this.weights[f] = wb;
      }
    }
    this.nvals[f] = n + 1;
    return n;
  }

  /** Append a value to multi-valued field f; returns the value index (write its id at ids[f][2·index]). */
  pushValue(f: number, weight = 1): number {
    const i = this.grow(f);
    const w = this.weights[f];
    if (w) w[i] = weight;
    return i;
  }

  /** Values of the open row so far in multi-valued field f. */
  openCount(f: number): number {
    return this.nvals[f] - (this.offsets[f] as Uint32Array)[this.rows];
  }

  commitRow(): void {
    const r = this.rows + 1;
    for (let f = 0; f < this.numFields; f++) {
      const off = this.offsets[f];
      if (off === null) continue;
      off[r] = this.nvals[f];
    }
    this.rows = r;
  }

  abortRow(): void {
    for (let f = 0; f < this.numFields; f++) {
      const off = this.offsets[f];
      if (off !== null) this.nvals[f] = off[this.rows];
    }
  }

  /**
   * Hand over the rows filled so far and start a fresh chunk (the returned arrays are never touched again).
   * `last`: no fresh chunk follows (the builder is dropped), so none is allocated.
   */
  take(last = false): DataChunk {
    const rows = this.rows;
    const fields: FieldColumn[] = [];
    for (let f = 0; f < this.numFields; f++) {
      const off = this.offsets[f];
      const n = off ? off[rows] : rows;
      const col: FieldColumn = { ids: this.ids[f].subarray(0, 2 * n) };
      if (off) col.offsets = off.subarray(0, rows + 1);
      const w = this.weights[f];
      if (w) col.weights = w.subarray(0, n);
      fields.push(col);
    }
    const chunk: DataChunk = { rows, labels: this.labels.subarray(0, rows), fields, numDense: this.numDense };
    if (this.dense) chunk.dense = this.dense.subarray(0, rows * this.numDense);
    chunk.positions = this.positions.subarray(0, rows);
    if (this.keys) chunk.keys = this.keys.slice(0, rows);
    if (this.sampleWeights) chunk.sampleWeights = this.sampleWeights.subarray(0, rows);
    if (!last) this.reset();
    return chunk;
  }
}

/** Concatenate chunks of the same shape into one (used by loadDataset). */
export function concatChunks(chunks: readonly DataChunk[], fields: readonly FieldInfo[], numDense: number): DataChunk {
  let rows = 0;
  for (const c of chunks) rows += c.rows;
  const labels = new Float32Array(rows);
  const dense = numDense > 0 ? new Float32Array(rows * numDense) : undefined;
  // Sample weights when any chunk has them (a chunk without gives its rows weight 1).
  const sampleWeights = chunks.some((c) => c.sampleWeights !== undefined) ? new Float32Array(rows) : undefined;
  let r = 0;
  for (const c of chunks) {
    labels.set(c.labels, r);
    if (sampleWeights) {
      if (c.sampleWeights) sampleWeights.set(c.sampleWeights, r);
      else sampleWeights.fill(1, r, r + c.rows);
    }
    if (dense && c.dense) dense.set(c.dense, r * numDense);
    r += c.rows;
  }
  const cols: FieldColumn[] = [];
  for (let f = 0; f < fields.length; f++) {
    let n = 0;
    for (const c of chunks) n += columnLength(c.fields[f], c.rows);
    const ids = new Uint32Array(2 * n);
    const weights = fields[f].weighted ? new Float32Array(n) : undefined;
    const offsets = fields[f].multiValued ? new Uint32Array(rows + 1) : undefined;
    let v = 0;
    let rr = 0;
    for (const c of chunks) {
      const col = c.fields[f];
      const m = columnLength(col, c.rows);
      ids.set(col.ids.subarray(0, 2 * m), 2 * v);
      if (weights && col.weights) weights.set(col.weights.subarray(0, m), v);
      if (offsets && col.offsets) for (let i = 1; i <= c.rows; i++) offsets[rr + i] = v + col.offsets[i];
      v += m;
      rr += c.rows;
    }
    const col: FieldColumn = { ids };
    if (offsets) col.offsets = offsets;
    if (weights) col.weights = weights;
    cols.push(col);
  }
  const out: DataChunk = { rows, labels, fields: cols, numDense };
  if (dense) out.dense = dense;
  if (sampleWeights) out.sampleWeights = sampleWeights;
  return out;
}
