// Each index method of docs/index-spec.md as ONNX nodes: int64 hash ids of any shape [...] → int64 rows [..., K] of
// the shared table (field offset included). The same rows as the embedding/ indexers, for every id, including
// ids ≥ 2^63 (negative as int64): all bit and modulo arithmetic runs on uint64, whose Cast from int64 keeps the bits.
// Measured on onnxruntime 1.30: BitShift accepts unsigned types only; Div/Mod on the signed ids give wrong rows for
// negative values; ReduceSum over int64 is not exact above 2^53 (nothing here sums values that large).

import type { BinaryCodeIndexer } from '../embedding/binary-code.js';
import type { HybridIndexer } from '../embedding/hybrid.js';
import type { IndexSpec } from '../embedding/config.js';
import type { Indexer } from '../embedding/table.js';
import type { GraphBuilder } from './graph.js';

/** splitmix64 constants (docs/index-spec.md §3, dhash). */
const GOLDEN = 0x9e3779b97f4a7c15n;
const MIX1 = 0xbf58476d1ce4e5b9n;
const MIX2 = 0x94d049bb133111ebn;
const U64 = (1n << 64n) - 1n;

/** Rows [..., K] for the int64 ids `ids`: the indexer's rows plus rowBase. */
export function indexRows(g: GraphBuilder, spec: IndexSpec, indexer: Indexer, ids: string, rowBase: number): string {
  switch (spec.method) {
    case 'bh':
      return bhRows(g, indexer as BinaryCodeIndexer, ids, rowBase);
    case 'hash': {
      const u = g.cast(ids, 'uint64');
      const r = g.cast(g.op('Mod', [u, g.u64([spec.rows], [])]), 'int64');
      return g.unsqueeze(g.op('Add', [r, g.i64([rowBase], [])]), -1);
    }
    case 'qr': {
      // row_0 = h mod m, row_1 = m + (floor(h / m) mod q): unsigned Div and Mod (exact for every 64-bit h).
      const u = g.cast(ids, 'uint64');
      const m = g.u64([spec.remainder], []);
      const r0 = g.op('Mod', [u, m]);
      const r1 = g.op('Mod', [g.op('Div', [u, m]), g.u64([spec.quotient], [])]);
      const both = g.op('Concat', [g.unsqueeze(r0, -1), g.unsqueeze(r1, -1)], { axis: { int: -1 } });
      return g.op('Add', [g.cast(both, 'int64'), g.i64([rowBase, rowBase + spec.remainder])]);
    }
    case 'dhash': {
      // z_i = splitmix64(h + i·GOLDEN), i = 1 … k, all k at once along a new last axis; uint64 Add/Mul wrap mod 2^64.
      const k = spec.hashes;
      const salts = Array.from({ length: k }, (_, i) => (BigInt(i + 1) * GOLDEN) & U64);
      let z = g.op('Add', [g.unsqueeze(g.cast(ids, 'uint64'), -1), g.u64(salts)]);
      z = g.op('Mul', [g.op('BitwiseXor', [z, g.shr(z, g.u64([30], []))]), g.u64([MIX1], [])]);
      z = g.op('Mul', [g.op('BitwiseXor', [z, g.shr(z, g.u64([27], []))]), g.u64([MIX2], [])]);
      z = g.op('BitwiseXor', [z, g.shr(z, g.u64([31], []))]);
      const r = g.cast(g.op('Mod', [z, g.u64([spec.rows], [])]), 'int64');
      return g.op('Add', [r, g.i64([rowBase], [])]);
    }
    case 'full': {
      // ai.onnx.ml LabelEncoder: id → 1 + position in the vocabulary, anything else → 0 (the OOV row).
      if (spec.vocab.length === 0) return g.unsqueeze(g.op('Add', [g.op('Mul', [ids, g.i64([0], [])]), g.i64([rowBase], [])]), -1);
      const keys = BigInt64Array.from(spec.vocab, (h) => BigInt.asIntN(64, BigInt(`0x${h}`)));
      const values = BigInt64Array.from(spec.vocab, (_, i) => BigInt(rowBase + i + 1));
      const r = g.op('LabelEncoder', [ids], { keys_int64s: { int64s: keys }, values_int64s: { int64s: values }, default_int64: { int: rowBase } }, { domain: 'ai.onnx.ml' });
      return g.unsqueeze(r, -1);
    }
    case 'hybrid': {
      // hot id i → row i (K times); anything else → its cold rows (BH or dhash, built as for that method) after the H
      // hot rows: LabelEncoder gives the hot position or −1, and Where picks per id between that (broadcast over the
      // K rows) and the cold rows.
      const hy = indexer as HybridIndexer;
      const H = spec.hot.length;
      const cold = indexRows(g, hy.coldSpec, hy.cold, ids, rowBase + H);
      if (H === 0) return cold;
      const keys = BigInt64Array.from(spec.hot, (h) => BigInt.asIntN(64, BigInt(`0x${h}`)));
      const values = BigInt64Array.from(spec.hot, (_, i) => BigInt(i));
      const at = g.unsqueeze(g.op('LabelEncoder', [ids], { keys_int64s: { int64s: keys }, values_int64s: { int64s: values }, default_int64: { int: -1 } }, { domain: 'ai.onnx.ml' }), -1);
      const isHot = g.op('GreaterOrEqual', [at, g.i64([0], [])]);
      return g.op('Where', [isHot, g.op('Add', [at, g.i64([rowBase], [])]), cold]);
    }
  }
}

/**
 * BH (Yan et al., CIKM 2021, §2). Succession: block k is code bits [p_k, p_k + w_k), p_k = Σ_{j<k} w_j, so
 * v_k = (h >> p_k) & (2^w_k − 1), all K blocks with one broadcast BitShift and BitwiseAnd. Skip: block k takes code
 * bits k, k + K, …; per code byte b a table LUT[256·b + byte_b, k] holds that byte's contribution to v_k, so
 * v_k = Σ_b LUT[256·b + byte_b, k]: one Gather from a [⌈S/8⌉·256, K] table and a sum of values < 2^w_k (exact).
 * Dense mode reads the id as the code the same way; an id ≥ 2^S is an error in bhembed, here its high bits are dropped.
 */
function bhRows(g: GraphBuilder, bh: BinaryCodeIndexer, ids: string, rowBase: number): string {
  const K = bh.widths.length;
  const S = bh.spec.codeBits;
  const u = g.unsqueeze(g.cast(ids, 'uint64'), -1);
  const offs = g.i64(bh.offsets.map((o) => rowBase + o));
  if (bh.spec.strategy === 'succession') {
    const starts: number[] = [];
    let pos = 0;
    for (const w of bh.widths) {
      starts.push(pos);
      pos += w;
    }
    const v = g.op('BitwiseAnd', [g.shr(u, g.u64(starts)), g.u64(bh.widths.map((w) => 2 ** w - 1))]);
    return g.op('Add', [g.cast(v, 'int64'), offs]);
  }
  const nb = Math.ceil(S / 8);
  const lut = new BigInt64Array(nb * 256 * K);
  for (let b = 0; b < nb; b++) {
    for (let x = 0; x < 256; x++) {
      for (let bit = 0; bit < 8; bit++) {
        const i = 8 * b + bit;
        if (i >= S || ((x >>> bit) & 1) === 0) continue;
        lut[(b * 256 + x) * K + (i % K)] += 1n << BigInt(Math.floor(i / K));
      }
    }
  }
  const bytes = g.op('BitwiseAnd', [g.shr(u, g.u64(Array.from({ length: nb }, (_, b) => 8 * b))), g.u64([255], [])]);
  const at = g.op('Add', [g.cast(bytes, 'int64'), g.i64(Array.from({ length: nb }, (_, b) => 256 * b))]);
  const parts = g.op('Gather', [g.tensor('bh_skip_lut', [nb * 256, K], lut), at], { axis: { int: 0 } });
  return g.op('Add', [g.reduceSum(parts, -2, false), offs]);
}
