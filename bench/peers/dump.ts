// The peer dump: embedding row indices computed once by bhembed, written as flat little-endian binaries so
// PyTorch and TensorFlow.js train the very same function on the very same rows. Format only; no training here.
//
//   <dir>/meta.json            PeerMeta (below)
//   <dir>/<split>.rows.i32     n × rowsPerSample int32: sample i, field f, row k at i·ΣK + field.offset + k
//   <dir>/<split>.labels.f32   n float32 in {0, 1}
//
//   frappe, BH t=4 (K=16 per field, 10 fields): ΣK = 160, field f owns columns [16f, 16f+16)
//
// layout 'values' (large synthetic sets, where n × ΣK int32 would not fit in memory) stores the same rows
// factored: <split>.values.i32 is n × F int32 value codes and field<f>.rows.i32 is numCodes × K int32, so
// sample i's rows for field f are field<f>.rows[code·K, code·K + K) with code = values[i·F + f].

import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const DUMP_FORMAT = 'bhembed-peer-dump';
export const DUMP_VERSION = 1;

export type PeerSplit = 'train' | 'valid' | 'test';
export type PeerArch = 'dnn' | 'deepfm';

export interface PeerField {
  name: string;
  /** Rows of this field's table; every index is in [0, numRows). */
  numRows: number;
  /** K: rows looked up (and fused) per value. */
  rowsPerValue: number;
  /** How the K rows become one vector. Only 'sum' is used by the peers today. */
  fusion: 'sum';
  /** First column of this field inside a sample's ΣK indices. */
  offset: number;
  /** layout 'values' only: number of distinct value codes (rows of field<f>.rows.i32). */
  numCodes?: number;
  /** The bhembed index spec that produced the rows, minus any vocabulary (for the record). */
  method: string;
  spec: Record<string, unknown>;
}

export interface PeerMeta {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  /** Configuration name, e.g. 'frappe-dnn-bh'. */
  name: string;
  /** Where the rows came from (data path or generator description). */
  source: string;
  /** Which code computed the indices: the library's registry, or the bench-local fallback. */
  indexer: 'library' | 'fallback';
  layout: 'rows' | 'values';
  fields: PeerField[];
  rowsPerSample: number;
  dim: number;
  arch: PeerArch;
  mlp: number[];
  batch: number;
  lr: number;
  epochs: number;
  /** dense: optimizer of the MLP; embedding: 'adam' (dense Adam over the table) or 'sparse_adam' (lazy, rows touched). */
  optimizer: { dense: 'adam'; embedding: 'adam' | 'sparse_adam'; beta1: number; beta2: number; eps: number };
  /**
   * Initialisation every leg uses: embeddings N(0, std²); dense layers Glorot-uniform weights, zero bias;
   * DeepFM's first-order tables (dim 1) and its separate linear bias start at zero (as bhembed's CtrModel).
   */
  init: { embedding: 'normal'; embeddingStd: number; dense: 'glorot_uniform'; linear: 'zeros' };
  /** How the exporter was called, so the bhembed leg can rebuild the same ids and indexers. */
  export: { config: string; quick: boolean };
  seed: number;
  n: Record<PeerSplit, number>;
}

export interface PeerSplitData {
  n: number;
  labels: Float32Array;
  /** Fill out[j·ΣK …] with the ΣK rows of sample idx[j], j < count. */
  gather(idx: ArrayLike<number>, start: number, count: number, out: Int32Array): void;
}

export function writeMeta(dir: string, meta: PeerMeta): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
}

export function readMeta(dir: string): PeerMeta {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as PeerMeta;
  if (meta.format !== DUMP_FORMAT || meta.version !== DUMP_VERSION) {
    throw new Error(`${dir}/meta.json: not a ${DUMP_FORMAT} v${DUMP_VERSION} (format=${meta.format}, version=${meta.version})`);
  }
  return meta;
}

/** Appends blocks of one split to its two files (the exporter streams large synthetic sets this way). */
export class SplitWriter {
  private readonly rowsFd: number;
  private readonly labelsFd: number;
  count = 0;

  constructor(dir: string, split: PeerSplit, private readonly rowsPerSample: number, layout: PeerMeta['layout'] = 'rows') {
    mkdirSync(dir, { recursive: true });
    this.rowsFd = openSync(join(dir, layout === 'rows' ? `${split}.rows.i32` : `${split}.values.i32`), 'w');
    this.labelsFd = openSync(join(dir, `${split}.labels.f32`), 'w');
  }

  /** Write n samples: rows holds n·rowsPerSample indices (layout 'values': n·F codes), labels n values. */
  write(rows: Int32Array, labels: Float32Array, n: number): void {
    const r = new Uint8Array(rows.buffer, rows.byteOffset, n * this.rowsPerSample * 4);
    const l = new Uint8Array(labels.buffer, labels.byteOffset, n * 4);
    writeAll(this.rowsFd, r);
    writeAll(this.labelsFd, l);
    this.count += n;
  }

  close(): void {
    closeSync(this.rowsFd);
    closeSync(this.labelsFd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

function readI32(path: string): Int32Array {
  const b = readFileSync(path);
  const a = new Int32Array(b.byteLength >> 2);
  new Uint8Array(a.buffer).set(b);
  return a;
}

/** Reads one split fully. Little-endian hosts only (x86, arm64), which is every host Node supports in practice. */
export function readSplit(dir: string, meta: PeerMeta, split: PeerSplit): PeerSplitData {
  const n = meta.n[split];
  const lb = readFileSync(join(dir, `${split}.labels.f32`));
  const labels = new Float32Array(n);
  new Uint8Array(labels.buffer).set(lb);
  const S = meta.rowsPerSample;
  if (meta.layout === 'values') {
    const F = meta.fields.length;
    const values = readI32(join(dir, `${split}.values.i32`));
    if (values.length !== n * F || lb.byteLength !== n * 4) throw new Error(`${dir}/${split}: expected ${n} samples × ${F} values`);
    const tables = meta.fields.map((_, f) => readI32(join(dir, `field${f}.rows.i32`)));
    return {
      n,
      labels,
      gather(idx, start, count, out) {
        for (let j = 0; j < count; j++) {
          const i = idx[start + j];
          for (let f = 0; f < F; f++) {
            const fd = meta.fields[f];
            const k = fd.rowsPerValue;
            const t = tables[f];
            const c = values[i * F + f] * k;
            const o = j * S + fd.offset;
            for (let q = 0; q < k; q++) out[o + q] = t[c + q];
          }
        }
      },
    };
  }
  const rows = readI32(join(dir, `${split}.rows.i32`));
  if (rows.length !== n * S || lb.byteLength !== n * 4) {
    throw new Error(`${dir}/${split}: expected ${n} samples × ${S} rows, files hold ${rows.length * 4} and ${lb.byteLength} bytes`);
  }
  return {
    n,
    labels,
    gather(idx, start, count, out) {
      for (let j = 0; j < count; j++) out.set(rows.subarray(idx[start + j] * S, idx[start + j] * S + S), j * S);
    },
  };
}

/** ROC AUC by ranks (Mann–Whitney U), ties get their average rank. Labels are 0/1. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] > 0.5) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy of probabilities, clipped to [1e-7, 1 − 1e-7]. */
export function logLoss(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i]));
    s -= labels[i] > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return s / labels.length;
}
