// Fused inference embedding bag (BH, Yan et al. CIKM 2021, §2): each field's rows are computed from the 64-bit
// ids inside the gather loop and summed straight into the output, so no row-index or segment array is written
// (the training path needs those for its backward; inference does not). Same rows and the same additions, in
// the same order, as index() + embeddingBagForward over the single-valued layout.
//
//   field descriptor (FD i32 per field):  kind | K | ptr (ids or rows) | blocks ptr | perm ptr | permBytes | wOff
//   block descriptor (3 i32 per block):   shift | mask | first row (rowBase + offset_k)
//   kind 0 (BH, contiguous code):   v_k = (code >> shift_k) & mask_k
//   kind 1 (BH skip):               the same after the byte-table bit permutation of the code
//   kind 2 (any method):            rows given, K per sample (ptr = b·K + k), first row per block added

const FD: i32 = 8;

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline
function loadTail(p: usize, rem: i32): v128 {
  if (rem == 1) return v128.load32_zero(p);
  if (rem == 2) return v128.load64_zero(p);
  return f32x4.replace_lane(v128.load64_zero(p), 2, load<f32>(p + 8));
}

// @ts-ignore: decorator
@inline
function storeTail(p: usize, v: v128, rem: i32): void {
  if (rem == 1) {
    store<f32>(p, f32x4.extract_lane(v, 0));
    return;
  }
  v128.store64_lane(p, v, 0);
  if (rem == 3) store<f32>(p + 8, f32x4.extract_lane(v, 2));
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

// dim ≤ 16: the field's sum stays in up to five registers while its K rows stream in.
function bagSmall(table: usize, dim: i32, B: i32, F: i32, fields: usize, weights: usize, hasWeights: bool, out: usize, outStride: i32): void {
  const rowBytes = <usize>dim * 4;
  const n4 = dim >> 2;
  const rem = dim & 3;
  const tailOff = <usize>n4 * 16;
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
      let a0 = f32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      let a4 = a0;
      for (let k = 0; k < K; k++) {
        const row = kind == 2 ? load<i32>(blk + <usize>k * 12, 8) + load<i32>(at(rp, k)) : blockRow(code, blk, k);
        const p = table + <usize>row * rowBytes;
        if (hasWeights) {
          const w = f32x4.splat(load<f32>(at(wf, k)));
          if (n4 > 0) a0 = f32x4.add(a0, f32x4.mul(w, v128.load(p)));
          if (n4 > 1) a1 = f32x4.add(a1, f32x4.mul(w, v128.load(p, 16)));
          if (n4 > 2) a2 = f32x4.add(a2, f32x4.mul(w, v128.load(p, 32)));
          if (n4 > 3) a3 = f32x4.add(a3, f32x4.mul(w, v128.load(p, 48)));
          if (rem > 0) a4 = f32x4.add(a4, f32x4.mul(w, loadTail(p + tailOff, rem)));
        } else {
          if (n4 > 0) a0 = f32x4.add(a0, v128.load(p));
          if (n4 > 1) a1 = f32x4.add(a1, v128.load(p, 16));
          if (n4 > 2) a2 = f32x4.add(a2, v128.load(p, 32));
          if (n4 > 3) a3 = f32x4.add(a3, v128.load(p, 48));
          if (rem > 0) a4 = f32x4.add(a4, loadTail(p + tailOff, rem));
        }
      }
      if (n4 > 0) v128.store(o, a0);
      if (n4 > 1) v128.store(o, a1, 16);
      if (n4 > 2) v128.store(o, a2, 32);
      if (n4 > 3) v128.store(o, a3, 48);
      if (rem > 0) storeTail(o + tailOff, a4, rem);
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
