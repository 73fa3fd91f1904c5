// The plan sample: the first rows of a training input, counted so a run can size its tables without a counting pass
// over the whole stream (the rows are then trained on as the start of the first epoch, so they are read once).
// Counts only; what a plan makes of them is the pipeline's (experiment/pipeline.ts) and the planner's business.

import type { HashIds } from '../core/ids.js';
import { IdMap } from '../hash/id-map.js';
import type { DataChunk } from './chunk.js';

/** Rows of the plan sample (2^18): about 85 MB of Criteo-shaped rows, which the shuffle buffer holds anyway. */
export const PLAN_SAMPLE_ROWS = 1 << 18;

export interface PlanSampleCounts {
  /** Rows counted (the sample's size, or fewer when the input ended first). */
  rows: number;
  /** Distinct values per field over those rows (exact). */
  distinct: number[];
  /**
   * Per field: values still appeared in the second half of the sample, so the whole input likely holds more (the
   * count is a lower bound). false: no new value after the first half (the field looks complete).
   */
  growing: boolean[];
}

/**
 * Call fn(f, ids, n) with the ids of field f in the first `maxRows` rows of the chunks, a run of rows of one chunk
 * at a time (ids[0 … n) of that run; multi-valued fields: every value of those rows).
 *
 *   chunks of 4 and 4 rows, maxRows 6  ->  fn(f, rows 0-3 of chunk 0), fn(f, rows 0-1 of chunk 1)
 */
export function forEachSampleRun(chunks: readonly DataChunk[], maxRows: number, fn: (f: number, ids: HashIds, n: number) => void, from = 0): void {
  let seen = 0;
  for (const c of chunks) {
    if (seen >= maxRows) return;
    const a = Math.max(0, from - seen);
    const b = Math.min(c.rows, maxRows - seen);
    if (a < b) {
      c.fields.forEach((col, f) => {
        const lo = col.offsets ? col.offsets[a] : a;
        const hi = col.offsets ? col.offsets[b] : b;
        if (hi > lo) fn(f, col.ids.subarray(2 * lo, 2 * hi), hi - lo);
      });
    }
    seen += c.rows;
  }
}

/**
 * Distinct values per field in the first `maxRows` rows of the chunks, and which fields still grew in the second
 * half of them.
 * @example
 *   const s = countPlanSample(heldChunks, 26);   // s.distinct[f], s.growing[f]
 */
export function countPlanSample(chunks: readonly DataChunk[], numFields: number, maxRows = PLAN_SAMPLE_ROWS): PlanSampleCounts {
  const total = Math.min(maxRows, chunks.reduce((a, c) => a + c.rows, 0));
  const half = Math.floor(total / 2);
  const maps = Array.from({ length: numFields }, () => new IdMap(1024));
  const add = (f: number, ids: HashIds, n: number): void => {
    const m = maps[f];
    for (let i = 0; i < n; i++) m.add(ids[2 * i], ids[2 * i + 1]);
  };
  forEachSampleRun(chunks, half, add);
  const atHalf = maps.map((m) => m.size);
  forEachSampleRun(chunks, total, add, half);
  const distinct = maps.map((m) => m.size);
  return { rows: total, distinct, growing: distinct.map((d, f) => d > atHalf[f]) };
}
