// Fused inference embedding bag (BH, Yan et al. CIKM 2021, §2): each field's rows are computed from the 64-bit
// ids inside the gather loop and summed straight into the output, so no row-index or segment array is written
// (the training path needs those for its backward; inference does not). Same rows and the same additions, in
// the same order, as index() + embeddingBagForward over the single-valued layout.
//
//   field descriptor (FD i32 per field):  kind | K | ptr (ids or rows) | blocks ptr | perm ptr | permBytes | wOff |
//                                         uniform width w (0: widths differ) | code bits S | rowBase
//   block descriptor (3 i32 per block):   shift | mask | first row (rowBase + offset_k)
//   kind 0 (BH, contiguous code):   v_k = (code >> shift_k) & mask_k
//   kind 1 (BH skip):               the same after the byte-table bit permutation of the code
//   kind 2 (any method):            rows given, K per sample (ptr = b·K + k), first row per block added
//   uniform w (kinds 0/1): offset_k = k·2^w and, on the code cut to S bits, v_k = (code >> k·w) & (2^w − 1)
//   (succession's narrower last block included: bits ≥ S are zero), so no block table is read.

import { loadTail, storeTail } from './simd';

const FD: i32 = 10;
const TILE: i32 = 64;

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}



// Row k of sample b of the field (absolute table row).
// @ts-ignore: decorator
@inline
function blockRow(code: u64, blk: usize, k: i32): i32 {
  const d = blk + <usize>k * 12;
  return load<i32>(d, 8) + <i32>((code >> <u64>load<i32>(d)) & <u64>load<u32>(d, 4));
}

// @ts-ignore: decorator
@inline
function fieldCode(kind: i32, ptr: usize, perm: usize, permBytes: i32, b: i32): u64 {
  let code = load<u64>(ptr + (<usize>b << 3));
  if (kind == 1) {
    let p: u64 = 0;
    for (let j = 0; j < permBytes; j++) p |= load<u64>(perm + ((<usize>j << 11) | (<usize>((code >> (<u64>j << 3)) & 255) << 3)));
    code = p;
  }
  return code;
}

// @ts-ignore: decorator
@inline
function acc(a: v128, p: usize, w: v128, hasW: bool): v128 {
  return hasW ? f32x4.add(a, f32x4.mul(w, v128.load(p))) : f32x4.add(a, v128.load(p));
}

// @ts-ignore: decorator
@inline
function accTail(a: v128, p: usize, rem: i32, w: v128, hasW: bool): v128 {
  return hasW ? f32x4.add(a, f32x4.mul(w, loadTail(p, rem))) : f32x4.add(a, loadTail(p, rem));
}

// @ts-ignore: decorator
@inline
function rowAt(kind: i32, code: u64, rp: usize, d: usize): i32 {
  if (kind == 2) return load<i32>(d, 8) + load<i32>(rp);
  return load<i32>(d, 8) + <i32>((code >> <u64>load<i32>(d)) & <u64>load<u32>(d, 4));
}

// One field, dim ≤ 16 (n4 whole vectors + rem floats; n4 and hasW are constants after inlining): two samples at a
// time, each sum in up to five registers while the K rows stream in. Each sample's additions stay in block order
// (0 + r_0 + r_1 + …, the general kernel's order); the two chains only interleave. An odd last sample is computed
// twice and stored to the same place.
// @ts-ignore: decorator
@inline
function fieldSmall(table: usize, rowBytes: usize, n4: i32, rem: i32, hasW: bool, uniform: bool, kind: i32, K: i32, ptr: usize, blk: usize, perm: usize, permBytes: i32, wf: usize, uw: i32, smask: u64, rowBase: i32, out: usize, strideBytes: usize, bLo: i32, B: i32): void {
  const tailOff = <usize>n4 * 16;
  const zero = f32x4.splat(0);
  const um: u64 = (<u64>1 << <u64>uw) - 1;
  const ustep = (<usize>1 << <usize>uw) * rowBytes;
  const ubase = table + <usize>rowBase * rowBytes;
  for (let b = bLo; b < B; b += 2) {
    const b1 = b + 1 < B ? b + 1 : b;
    const c0 = kind == 2 ? 0 : fieldCode(kind, ptr, perm, permBytes, b);
    const c1 = kind == 2 ? 0 : fieldCode(kind, ptr, perm, permBytes, b1);
    const rp0 = ptr + <usize>(b * K) * 4;
    const rp1 = ptr + <usize>(b1 * K) * 4;
    let x0 = zero;
    let x1 = zero;
    let x2 = zero;
    let x3 = zero;
    let x4 = zero;
    let y0 = zero;
    let y1 = zero;
    let y2 = zero;
    let y3 = zero;
    let y4 = zero;
    let u0 = c0 & smask;
    let u1 = c1 & smask;
    let base = ubase;
    for (let k = 0; k < K; k++) {
      let p: usize;
      let q: usize;
      if (uniform) {
        p = base + <usize>(u0 & um) * rowBytes;
        q = base + <usize>(u1 & um) * rowBytes;
        u0 >>= <u64>uw;
        u1 >>= <u64>uw;
        base += ustep;
      } else {
        const d = blk + <usize>k * 12;
        p = table + <usize>rowAt(kind, c0, rp0 + (<usize>k << 2), d) * rowBytes;
        q = table + <usize>rowAt(kind, c1, rp1 + (<usize>k << 2), d) * rowBytes;
      }
      const w = hasW ? f32x4.splat(load<f32>(wf + (<usize>k << 2))) : zero;
      if (n4 > 0) {
        x0 = acc(x0, p, w, hasW);
        y0 = acc(y0, q, w, hasW);
      }
      if (n4 > 1) {
        x1 = acc(x1, p + 16, w, hasW);
        y1 = acc(y1, q + 16, w, hasW);
      }
      if (n4 > 2) {
        x2 = acc(x2, p + 32, w, hasW);
        y2 = acc(y2, q + 32, w, hasW);
      }
      if (n4 > 3) {
        x3 = acc(x3, p + 48, w, hasW);
        y3 = acc(y3, q + 48, w, hasW);
      }
      if (rem > 0) {
        x4 = accTail(x4, p + tailOff, rem, w, hasW);
        y4 = accTail(y4, q + tailOff, rem, w, hasW);
      }
    }
    const o = out + <usize>b * strideBytes;
    const u = out + <usize>b1 * strideBytes;
    if (n4 > 0) {
      v128.store(o, x0);
      v128.store(u, y0);
    }
    if (n4 > 1) {
      v128.store(o, x1, 16);
      v128.store(u, y1, 16);
    }
    if (n4 > 2) {
      v128.store(o, x2, 32);
      v128.store(u, y2, 32);
    }
    if (n4 > 3) {
      v128.store(o, x3, 48);
      v128.store(u, y3, 48);
    }
    if (rem > 0) {
      storeTail(o + tailOff, x4, rem);
      storeTail(u + tailOff, y4, rem);
    }
  }
}

// @ts-ignore: decorator
@inline
function bySize(table: usize, rowBytes: usize, n4: i32, rem: i32, hasW: bool, uniform: bool, kind: i32, K: i32, ptr: usize, blk: usize, perm: usize, permBytes: i32, wf: usize, uw: i32, smask: u64, rowBase: i32, o: usize, strideBytes: usize, b0: i32, b1: i32): void {
  if (n4 == 4) fieldSmall(table, rowBytes, 4, rem, hasW, uniform, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
  else if (n4 == 3) fieldSmall(table, rowBytes, 3, rem, hasW, uniform, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
  else if (n4 == 2) fieldSmall(table, rowBytes, 2, rem, hasW, uniform, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
  else if (n4 == 1) fieldSmall(table, rowBytes, 1, rem, hasW, uniform, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
  else fieldSmall(table, rowBytes, 0, rem, hasW, uniform, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
}

function bagSmall(table: usize, dim: i32, B: i32, F: i32, fields: usize, weights: usize, hasWeights: bool, out: usize, outStride: i32): void {
  const rowBytes = <usize>dim * 4;
  const n4 = dim >> 2;
  const rem = dim & 3;
  const strideBytes = <usize>outStride * 4;
  // Tiles of TILE samples, all fields of a tile before the next: the tile's output rows stay in cache while every
  // field adds its slice (field-major over the whole batch touched all of a multi-MB output once per field).
  for (let b0 = 0; b0 < B; b0 += TILE) {
  const b1 = min(B, b0 + TILE);
  for (let f = 0; f < F; f++) {
    const fd = fields + <usize>(f * FD) * 4;
    const kind = load<i32>(fd);
    const K = load<i32>(fd, 4);
    const ptr = <usize>load<i32>(fd, 8);
    const blk = <usize>load<i32>(fd, 12);
    const perm = <usize>load<i32>(fd, 16);
    const permBytes = load<i32>(fd, 20);
    const wf = weights + <usize>load<i32>(fd, 24) * 4;
    const o = out + <usize>f * rowBytes;
    const uw = kind == 2 ? 0 : load<i32>(fd, 28);
    const S = load<i32>(fd, 32);
    const smask: u64 = S >= 64 ? <u64>-1 : (<u64>1 << <u64>S) - 1;
    const rowBase = load<i32>(fd, 36);
    // n4, hasWeights and uniform as constants: one specialized loop each.
    if (hasWeights) {
      if (uw > 0) bySize(table, rowBytes, n4, rem, true, true, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
      else bySize(table, rowBytes, n4, rem, true, false, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
    } else {
      if (uw > 0) bySize(table, rowBytes, n4, rem, false, true, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
      else bySize(table, rowBytes, n4, rem, false, false, kind, K, ptr, blk, perm, permBytes, wf, uw, smask, rowBase, o, strideBytes, b0, b1);
    }
  }
  }
}

// dim > 16: accumulate in the output row (zero, then out += w·row per block), as embeddingBagForward does.
function bagWide(table: usize, dim: i32, B: i32, F: i32, fields: usize, weights: usize, hasWeights: bool, out: usize, outStride: i32): void {
  const rowBytes = <usize>dim * 4;
  const strideBytes = <usize>outStride * 4;
  for (let f = 0; f < F; f++) {
    const fd = fields + <usize>(f * FD) * 4;
    const kind = load<i32>(fd);
    const K = load<i32>(fd, 4);
    const ptr = <usize>load<i32>(fd, 8);
    const blk = <usize>load<i32>(fd, 12);
    const perm = <usize>load<i32>(fd, 16);
    const permBytes = load<i32>(fd, 20);
    const wf = weights + <usize>load<i32>(fd, 24) * 4;
    let o = out + <usize>f * rowBytes;
    for (let b = 0; b < B; b++, o += strideBytes) {
      const code = kind == 2 ? 0 : fieldCode(kind, ptr, perm, permBytes, b);
      const rp = ptr + <usize>(b * K) * 4;
      memory.fill(o, 0, rowBytes);
      for (let k = 0; k < K; k++) {
        const row = kind == 2 ? load<i32>(blk + <usize>k * 12, 8) + load<i32>(at(rp, k)) : blockRow(code, blk, k);
        const src = table + <usize>row * rowBytes;
        const w: f32 = hasWeights ? load<f32>(at(wf, k)) : 1;
        const vw = f32x4.splat(w);
        let j = 0;
        for (; j + 4 <= dim; j += 4) v128.store(at(o, j), f32x4.add(v128.load(at(o, j)), f32x4.mul(vw, v128.load(at(src, j)))));
        for (; j < dim; j++) store<f32>(at(o, j), load<f32>(at(o, j)) + w * load<f32>(at(src, j)));
      }
    }
  }
}

/**
 * out[b·outStride + f·dim …] = Σ_k w_{f,k} · table[row_{f,k}(id_{b,f})] for B samples and F single-valued fields
 * (weights: Σ K_f floats, field f's at wOff_f; ignored unless hasWeights).
 */
export function bhBagForward(table: usize, dim: i32, B: i32, F: i32, fields: usize, weights: usize, hasWeights: bool, out: usize, outStride: i32): void {
  if (dim <= 16) bagSmall(table, dim, B, F, fields, weights, hasWeights, out, outStride);
  else bagWide(table, dim, B, F, fields, weights, hasWeights, out, outStride);
}
