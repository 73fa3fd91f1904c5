// Binary blobs a cluster job keeps in the object store: shard data (the trainer's Columns for a run of
// rows), full parameter snapshots, and workers' submissions (dense tensors whole, embedding tables as the rows
// that changed since the round's base: sparse, since a round touches a small share of a table's rows).
//
//   blob = u32 headerBytes | header JSON (padded to 4) | section 0 | section 1 | …   (typed arrays, little-endian)

import { ConfigError } from '../core/errors.js';
import type { Columns } from '../data/batches/columns.js';
import type { NamedParam } from '../nn/params.js';

type Section = Float32Array | Uint32Array | Int32Array;

function pack(header: unknown, sections: Section[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const hlen = Math.ceil(json.length / 4) * 4;
  let total = 4 + hlen;
  for (const s of sections) total += s.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = 4 + hlen;
  for (const s of sections) {
    out.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), at);
    at += s.byteLength;
  }
  return out;
}

class Unpacker {
  private at: number;
  readonly header: unknown;
  private readonly buf: ArrayBuffer;
  constructor(bytes: Uint8Array) {
    // Copy once into an aligned buffer: typed-array views need offsets that are multiples of 4.
    const own = new Uint8Array(bytes.length);
    own.set(bytes);
    this.buf = own.buffer;
    const len = new DataView(this.buf).getUint32(0, true);
    this.header = JSON.parse(new TextDecoder().decode(own.subarray(4, 4 + len)));
    this.at = 4 + Math.ceil(len / 4) * 4;
  }
  private take(n: number): number {
    const a = this.at;
    this.at += 4 * n;
    if (this.at > this.buf.byteLength) throw new ConfigError('cluster: truncated blob');
    return a;
  }
  f32(n: number): Float32Array {
    return new Float32Array(this.buf, this.take(n), n);
  }
  u32(n: number): Uint32Array {
    return new Uint32Array(this.buf, this.take(n), n);
  }
  i32(n: number): Int32Array {
    return new Int32Array(this.buf, this.take(n), n);
  }
}

interface ShardHeader {
  n: number;
  numDense: number;
  fields: { values: number; multi: boolean; weighted: boolean }[];
}

/** Rows `rows` of `ds` (in that order) as one shard blob. */
export function encodeShard(ds: Columns, rows: ArrayLike<number>): Uint8Array {
  const n = rows.length;
  const nd = ds.numDense ?? 0;
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) labels[i] = ds.labels[rows[i]];
  const sections: Section[] = [labels];
  const fields: ShardHeader['fields'] = [];
  for (const f of ds.fields) {
    const o = f.offsets ?? null;
    const w = f.weights ?? null;
    if (o === null) {
      const ids = new Uint32Array(2 * n);
      for (let i = 0; i < n; i++) {
        ids[2 * i] = f.ids[2 * rows[i]];
        ids[2 * i + 1] = f.ids[2 * rows[i] + 1];
      }
      fields.push({ values: n, multi: false, weighted: w !== null });
      sections.push(ids);
      if (w !== null) sections.push(Float32Array.from({ length: n }, (_, i) => w[rows[i]]));
    } else {
      const offs = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) offs[i + 1] = offs[i] + o[rows[i] + 1] - o[rows[i]];
      const ids = new Uint32Array(2 * offs[n]);
      for (let i = 0; i < n; i++) ids.set(f.ids.subarray(2 * o[rows[i]], 2 * o[rows[i] + 1]), 2 * offs[i]);
      fields.push({ values: offs[n], multi: true, weighted: w !== null });
      sections.push(ids, offs);
      if (w !== null) {
        const ws = new Float32Array(offs[n]);
        for (let i = 0; i < n; i++) ws.set(w.subarray(o[rows[i]], o[rows[i] + 1]), offs[i]);
        sections.push(ws);
      }
    }
  }
  if (nd > 0 && ds.dense) {
    const dense = new Float32Array(n * nd);
    for (let i = 0; i < n; i++) dense.set(ds.dense.subarray(rows[i] * nd, rows[i] * nd + nd), i * nd);
    sections.push(dense);
  }
  const header: ShardHeader = { n, numDense: nd, fields };
  return pack(header, sections);
}

export function decodeShard(bytes: Uint8Array): Columns {
  const u = new Unpacker(bytes);
  const h = u.header as ShardHeader;
  const labels = u.f32(h.n);
  const fields = h.fields.map((f) => {
    const ids = u.u32(2 * f.values);
    const offsets = f.multi ? u.i32(h.n + 1) : null;
    const weights = f.weighted ? u.f32(f.values) : null;
    return { ids, offsets, weights };
  });
  const dense = h.numDense > 0 ? u.f32(h.n * h.numDense) : null;
  return { rows: h.n, labels, fields, numDense: h.numDense, dense };
}

/** Rows [a, b) as a view (no copy): multi-valued offsets stay absolute into the full ids (and weights). */
export function sliceColumns(ds: Columns, a: number, b: number): Columns {
  const nd = ds.numDense ?? 0;
  return {
    rows: b - a,
    labels: ds.labels.subarray(a, b),
    fields: ds.fields.map((f) =>
      f.offsets ? { ids: f.ids, offsets: f.offsets.subarray(a, b + 1), weights: f.weights ?? null } : { ids: f.ids.subarray(2 * a, 2 * b), offsets: null, weights: f.weights ? f.weights.subarray(a, b) : null },
    ),
    numDense: nd,
    dense: nd > 0 && ds.dense ? ds.dense.subarray(a * nd, b * nd) : null,
  };
}

/** Every tensor of a model, whole. */
export function encodeParams(params: readonly NamedParam[]): Uint8Array {
  return pack({ names: params.map((p) => p.name) }, params.map((p) => p.data));
}

export function decodeParams(bytes: Uint8Array, like: readonly NamedParam[]): Float32Array[] {
  const u = new Unpacker(bytes);
  const names = (u.header as { names: string[] }).names;
  if (names.length !== like.length || names.some((n, i) => n !== like[i].name)) throw new ConfigError('cluster: parameter snapshot does not match the model (another job with the same name?)');
  return like.map((p) => new Float32Array(u.f32(p.data.length)));
}

/** One worker's share of a round. */
export interface Submission {
  worker: string;
  /** The parameter snapshot the worker's changes are relative to (null: the seeded initial weights). */
  base: string | null;
  /** Rows trained since the worker's previous submission. */
  rows: number;
  /** Rows per shard id among `rows`. */
  shards: Record<string, number>;
  /** Per tensor: embedding tables as changed rows, others whole; null = nothing trained (or in `blob`). */
  tensors: SubTensor[] | null;
  /** When the worker submitted (ms since the epoch). */
  at?: number;
  /** Too large for one KV value: the whole submission is this object-store blob (this one is its header). */
  blob?: string;
}

export type SubTensor = { kind: 'rows'; dim: number; rows: Uint32Array; values: Float32Array } | { kind: 'full'; values: Float32Array };

/**
 * The worker's current tensors as a submission: an embedding table sends only rows that differ from `base` (the
 * round's averaged snapshot the worker started from), everything else whole.
 */
export function diffParams(params: readonly NamedParam[], base: readonly Float32Array[]): SubTensor[] {
  return params.map((p, i): SubTensor => {
    if (p.kind !== 'embedding') return { kind: 'full', values: p.data };
    const dim = p.shape[1];
    const rowsN = p.shape[0];
    const b = base[i];
    const d = p.data;
    const changed: number[] = [];
    for (let r = 0; r < rowsN; r++) {
      const o = r * dim;
      for (let k = 0; k < dim; k++) {
        if (d[o + k] !== b[o + k]) {
          changed.push(r);
          break;
        }
      }
    }
    const rows = Uint32Array.from(changed);
    const values = new Float32Array(rows.length * dim);
    for (let j = 0; j < rows.length; j++) values.set(d.subarray(rows[j] * dim, rows[j] * dim + dim), j * dim);
    return { kind: 'rows', dim, rows, values };
  });
}

export function encodeSubmission(s: Submission): Uint8Array {
  const sections: Section[] = [];
  const tensors = s.tensors?.map((t) => {
    if (t.kind === 'rows') {
      sections.push(t.rows, t.values);
      return { kind: 'rows', dim: t.dim, count: t.rows.length };
    }
    sections.push(t.values);
    return { kind: 'full', length: t.values.length };
  });
  return pack({ worker: s.worker, base: s.base, rows: s.rows, shards: s.shards, tensors: tensors ?? null, ...(s.at !== undefined ? { at: s.at } : {}), ...(s.blob !== undefined ? { blob: s.blob } : {}) }, sections);
}

export function decodeSubmission(bytes: Uint8Array): Submission {
  const u = new Unpacker(bytes);
  const h = u.header as { worker: string; base: string | null; rows: number; shards: Record<string, number>; tensors: ({ kind: 'rows'; dim: number; count: number } | { kind: 'full'; length: number })[] | null; at?: number; blob?: string };
  const tensors =
    h.tensors?.map((t): SubTensor => {
      if (t.kind === 'rows') {
        const rows = u.u32(t.count);
        return { kind: 'rows', dim: t.dim, rows, values: u.f32(t.count * t.dim) };
      }
      return { kind: 'full', values: u.f32(t.length) };
    }) ?? null;
  const out: Submission = { worker: h.worker, base: h.base, rows: h.rows, shards: h.shards, tensors };
  if (h.at !== undefined) out.at = h.at;
  if (h.blob !== undefined) out.blob = h.blob;
  return out;
}
