// A batch's rows of a table that lives outside the backend's memory (kernels/external-table.ts), as a compact
// working table the kernels can read: the layout's global rows are renumbered 0…u−1 in first-touch order, those u
// rows are copied in, and forward/backward run on (working table, local rows) exactly as they would on (table,
// global rows). embeddingBagBackward numbers distinct rows in first-touch order too, so its local row c is uniq[c]
// and the global uniqueRows/gradRows come out identical to the in-memory run's.
//
//   layout rows  [907, 12, 907, 5, 12]  →  local [0, 1, 0, 2, 1], uniq [907, 12, 5], work = table rows 907, 12, 5

import { gatherRows } from '../kernels/index.js';
import type { Ops } from '../kernels/ops.js';

export class CompactRows {
  /** Local row of each layout row (backend memory, the layout's capacity). */
  local: Int32Array = new Int32Array(0);
  /** Global row of each local row, c < count. */
  uniq: Int32Array = new Int32Array(0);
  /** The working table: count × dim floats (backend memory). */
  work: Float32Array = new Float32Array(0);
  /** embeddingBagBackward's slot over local rows (all −1 between calls). */
  slot: Int32Array = new Int32Array(0);
  count = 0;
  private cap = 0;
  /** Local row of each global row while remapping (−1 otherwise); one int per table row, made on first use. */
  private seen: Int32Array | null = null;
  private readonly ops: Ops;
  private readonly dim: number;
  private readonly numRows: number;

  constructor(ops: Ops, numRows: number, dim: number) {
    this.ops = ops;
    this.numRows = numRows;
    this.dim = dim;
  }

  /** Renumber rows[0..n) and copy their rows of `table` (numRows × dim, anywhere) into `work`. */
  load(table: Float32Array, rows: Int32Array, n: number): void {
    this.ensure(n);
    if (this.seen === null) this.seen = new Int32Array(this.numRows).fill(-1);
    const seen = this.seen;
    const local = this.local;
    const uniq = this.uniq;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      let c = seen[r];
      if (c < 0) {
        c = u++;
        seen[r] = c;
        uniq[c] = r;
      }
      local[i] = c;
    }
    for (let c = 0; c < u; c++) seen[uniq[c]] = -1;
    this.count = u;
    gatherRows(table, this.dim, uniq, u, this.work);
  }

  /** Local row numbers → global ones, in place (uniqueRows after a backward on local rows). */
  toGlobal(rows: Int32Array, n: number): void {
    const uniq = this.uniq;
    for (let i = 0; i < n; i++) rows[i] = uniq[rows[i]];
  }

  private ensure(n: number): void {
    if (n <= this.cap) return;
    let cap = Math.max(256, this.cap);
    while (cap < n) cap *= 2;
    const { ops } = this;
    if (this.cap > 0) for (const a of [this.local, this.work, this.slot]) ops.free(a);
    this.local = ops.allocI32(cap);
    this.work = ops.allocF32(cap * this.dim);
    this.slot = ops.allocI32(cap);
    this.slot.fill(-1);
    this.uniq = new Int32Array(cap);
    this.cap = cap;
  }
}
