// The one seam between data and training: a BatchSource hands out batches, pass after pass, and says where it
// is as plain data. The trainer pulls from it and never knows whether rows come from memory, files or another
// host; resume and continued training are restore(state), not special code paths (PyTorch DataLoader state,
// TorchRec's checkpointable pipelines).

import type { BatchBuffer } from '../../core/batch.js';
import type { BatchShape } from './columns.js';

/** Where a source is: plain JSON (survives postMessage and checkpoint files). */
export interface SourceState {
  /** Which kind of source wrote it ('memory', 'stream', 'sharded'); restore refuses another kind. */
  kind: string;
  /** 0-based pass. */
  epoch: number;
  /** Rows handed out so far in this pass. */
  rows: number;
  /** Anything else the kind needs (plain JSON). */
  [key: string]: unknown;
}

/**
 * Batches of rows, one pass (epoch) after another.
 *
 * @example
 *   const src = new MemorySource(columns, { shuffle: true, seed: 1 });
 *   const buf = batchBufferOf(src.shape, 256);
 *   while ((await src.next(buf)) > 0) step(buf);   // one pass; the next next() starts the next pass
 *   const where = src.state();                      // … later: await src.restore(where)
 */
export interface BatchSource {
  readonly shape: BatchShape;
  /** Rows per pass when known (in memory; a stream after its first full pass), else null. */
  readonly rowsPerPass: number | null;
  /**
   * Fill out (from row 0) with the next up to `max` (default out.maxBatch) rows of the current pass and return
   * how many; 0 means the pass is over, and the call after that starts the next pass.
   */
  next(out: BatchBuffer, max?: number): Promise<number>;
  /** The position after the last batch handed out. */
  state(): SourceState;
  /** Continue from a state this kind of source gave (same data, same options). */
  restore(state: SourceState): Promise<void>;
  /** Release files and threads. */
  close(): Promise<void>;
  /** How the rows are held ('memory' or 'stream'), for run summaries. */
  readonly mode: 'memory' | 'stream';
}

/** Is x a BatchSource (rather than Columns)? */
export function isBatchSource(x: unknown): x is BatchSource {
  return typeof x === 'object' && x !== null && typeof (x as BatchSource).next === 'function' && typeof (x as BatchSource).state === 'function';
}
