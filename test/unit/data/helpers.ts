// Shared helpers for the data tests: temp files (plain and gzip), an independent XXH64 (xxhash-wasm) to check
// ids against the expected tokens, and chunk collection.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import xxhash from 'xxhash-wasm';
import { idToBigInt } from '../../../src/core/ids.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import type { DataReader } from '../../../src/data/reader.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('bhembed-data-');
let counter = 0;

/** Write text (or bytes) to a fresh temp file; gzip it when asked. Returns the path. */
export function tmpFile(content: string | Uint8Array, opts: { gzip?: boolean; name?: string } = {}): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  const path = join(dir, opts.name ?? `f${counter++}${opts.gzip ? '.gz' : '.txt'}`);
  writeFileSync(path, opts.gzip ? gzipSync(bytes) : bytes);
  return path;
}

export function tmpDir(): string {
  return dir;
}

const api = await xxhash();

/** XXH64 of the UTF-8 text with seed, by the reference implementation. */
export function refHash(text: string, seed: number): bigint {
  return api.h64Raw(Buffer.from(text, 'utf8'), BigInt(seed));
}

export async function collect(reader: DataReader): Promise<DataChunk[]> {
  const out: DataChunk[] = [];
  for await (const c of reader.chunks()) out.push(c);
  return out;
}

/** All rows of all chunks as { label, ids per field (bigint[] per field), dense } for easy comparison. */
export interface FlatRow {
  label: number;
  values: bigint[][];
  weights: number[][];
  dense: number[];
}

export function flatten(chunks: DataChunk[]): FlatRow[] {
  const rows: FlatRow[] = [];
  for (const c of chunks) {
    for (let r = 0; r < c.rows; r++) {
      const values: bigint[][] = [];
      const weights: number[][] = [];
      for (const col of c.fields) {
        const from = col.offsets ? col.offsets[r] : r;
        const to = col.offsets ? col.offsets[r + 1] : r + 1;
        const v: bigint[] = [];
        const w: number[] = [];
        for (let i = from; i < to; i++) {
          v.push(idToBigInt(col.ids, i));
          w.push(col.weights ? col.weights[i] : 1);
        }
        values.push(v);
        weights.push(w);
      }
      const dense = c.dense ? Array.from(c.dense.subarray(r * c.numDense, (r + 1) * c.numDense)) : [];
      rows.push({ label: c.labels[r], values, weights, dense });
    }
  }
  return rows;
}

/** Expected single-valued ids of a row: token k of field k hashed with seed k. */
export function expectIds(tokens: string[]): bigint[][] {
  return tokens.map((t, f) => [refHash(t, f)]);
}
