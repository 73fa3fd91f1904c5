// Embedding bag (gather + fuse, scatter-add backward with duplicate rows merged) and the row-wise optimizers
// that consume its output, plus dense Adam. Row loops are f32x4 over dim with a scalar tail for dim % 4.
// Bias corrections (1/(1−β^t)) come precomputed from the JS side so no pow is needed here.

// @ts-ignore: decorator
import { loadTail, storeTail } from './simd';

@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// Software prefetch: wasm has no prefetch instruction, so the row needed a few iterations ahead is touched
// with a plain load whose value is folded into a global (so the optimizer keeps it). The cache miss then
// overlaps the current row's long div/sqrt chain: ~17% on lazy Adam over a 64 MiB table (random rows).
// Used only in Adam/Adagrad: the gather and SGD loops are short enough for the CPU to overlap misses itself.
let prefetchSink: i32 = 0;
const LOOKAHEAD: i32 = 6;

// dst[0..dim) += w · src[0..dim)
// @ts-ignore: decorator
@inline
function rowAxpy(dst: usize, src: usize, w: f32, dim: i32): void {
  const vw = f32x4.splat(w);
  let j = 0;
  for (; j + 4 <= dim; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(dst, j)), f32x4.mul(vw, v128.load(at(src, j)))));
  for (; j < dim; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + w * load<f32>(at(src, j)));
}



// Rows of up to 16 floats: each segment's sum stays in (up to five) registers while its rows stream in, instead of
// a load-add-store of the output per row. Same additions in the same order as the general loop.
function embeddingBagForwardSmall(table: usize, dim: i32, rows: usize, offsets: usize, nSeg: i32, weights: usize, hasWeights: bool, mean: bool, out: usize): void {
  const rowBytes = <usize>dim * 4;
  const n4 = dim >> 2;
  const rem = dim & 3;
  const tailOff = <usize>n4 * 16;
  for (let s = 0; s < nSeg; s++) {
    const lo = load<i32>(at(offsets, s));
    const hi = load<i32>(at(offsets, s + 1));
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let at4 = a0;
    for (let i = lo; i < hi; i++) {
      const p = table + <usize>load<i32>(at(rows, i)) * rowBytes;
      if (hasWeights) {
        const w = f32x4.splat(load<f32>(at(weights, i)));
        if (n4 > 0) a0 = f32x4.add(a0, f32x4.mul(w, v128.load(p)));
        if (n4 > 1) a1 = f32x4.add(a1, f32x4.mul(w, v128.load(p, 16)));
        if (n4 > 2) a2 = f32x4.add(a2, f32x4.mul(w, v128.load(p, 32)));
        if (n4 > 3) a3 = f32x4.add(a3, f32x4.mul(w, v128.load(p, 48)));
        if (rem > 0) at4 = f32x4.add(at4, f32x4.mul(w, loadTail(p + tailOff, rem)));
      } else {
        // w = 1: the general loop's 1·x is exact, so plain adds give the same sums.
        if (n4 > 0) a0 = f32x4.add(a0, v128.load(p));
        if (n4 > 1) a1 = f32x4.add(a1, v128.load(p, 16));
        if (n4 > 2) a2 = f32x4.add(a2, v128.load(p, 32));
        if (n4 > 3) a3 = f32x4.add(a3, v128.load(p, 48));
        if (rem > 0) at4 = f32x4.add(at4, loadTail(p + tailOff, rem));
      }
    }
    if (mean && hi > lo) {
      const vi = f32x4.splat(<f32>1 / <f32>(hi - lo));
      a0 = f32x4.mul(a0, vi);
      a1 = f32x4.mul(a1, vi);
      a2 = f32x4.mul(a2, vi);
      a3 = f32x4.mul(a3, vi);
      at4 = f32x4.mul(at4, vi);
    }
    const o = out + <usize>s * rowBytes;
    if (n4 > 0) v128.store(o, a0);
    if (n4 > 1) v128.store(o, a1, 16);
    if (n4 > 2) v128.store(o, a2, 32);
    if (n4 > 3) v128.store(o, a3, 48);
    if (rem > 0) storeTail(o + tailOff, at4, rem);
  }
}

export function embeddingBagForward(table: usize, dim: i32, rows: usize, offsets: usize, nSeg: i32, weights: usize, hasWeights: bool, mean: bool, out: usize): void {
  if (dim <= 16) {
    embeddingBagForwardSmall(table, dim, rows, offsets, nSeg, weights, hasWeights, mean, out);
    return;
  }
  const rowBytes = <usize>dim * 4;
  for (let s = 0; s < nSeg; s++) {
    const lo = load<i32>(at(offsets, s));
    const hi = load<i32>(at(offsets, s + 1));
    const o = out + <usize>s * rowBytes;
    memory.fill(o, 0, rowBytes);
    for (let i = lo; i < hi; i++) {
      const w: f32 = hasWeights ? load<f32>(at(weights, i)) : 1;
      rowAxpy(o, table + <usize>load<i32>(at(rows, i)) * rowBytes, w, dim);
    }
    if (mean && hi > lo) {
      const inv: f32 = 1 / <f32>(hi - lo);
      const vi = f32x4.splat(inv);
      let j = 0;
      for (; j + 4 <= dim; j += 4) v128.store(at(o, j), f32x4.mul(v128.load(at(o, j)), vi));
      for (; j < dim; j++) store<f32>(at(o, j), load<f32>(at(o, j)) * inv);
    }
  }
}

// Rows of up to 16 floats: the segment's gradient is loaded once into registers (scaled per row), a row seen for
// the first time is written directly (no zero fill + add), a known one is loaded, added to and stored.
function embeddingBagBackwardSmall(dOut: usize, dim: i32, rows: usize, offsets: usize, nSeg: i32, weights: usize, hasWeights: bool, mean: bool, slot: usize, uniqueRows: usize, gradRows: usize): i32 {
  const rowBytes = <usize>dim * 4;
  const n4 = dim >> 2;
  const rem = dim & 3;
  const tailOff = <usize>n4 * 16;
  let u = 0;
  const zero = f32x4.splat(0);
  for (let s = 0; s < nSeg; s++) {
    const lo = load<i32>(at(offsets, s));
    const hi = load<i32>(at(offsets, s + 1));
    if (hi <= lo) continue;
    const segScale: f32 = mean ? 1 / <f32>(hi - lo) : 1;
    const g = dOut + <usize>s * rowBytes;
    const g0 = n4 > 0 ? v128.load(g) : zero;
    const g1 = n4 > 1 ? v128.load(g, 16) : zero;
    const g2 = n4 > 2 ? v128.load(g, 32) : zero;
    const g3 = n4 > 3 ? v128.load(g, 48) : zero;
    const gt = rem > 0 ? loadTail(g + tailOff, rem) : zero;
    for (let i = lo; i < hi; i++) {
      const r = load<i32>(at(rows, i));
      const w = f32x4.splat(hasWeights ? load<f32>(at(weights, i)) * segScale : segScale);
      let k = load<i32>(at(slot, r));
      if (k < 0) {
        k = u++;
        store<i32>(at(slot, r), k);
        store<i32>(at(uniqueRows, k), r);
        const d = gradRows + <usize>k * rowBytes;
        // 0 + w·g, as the general loop's fill-then-add computes it.
        if (n4 > 0) v128.store(d, f32x4.add(zero, f32x4.mul(w, g0)));
        if (n4 > 1) v128.store(d, f32x4.add(zero, f32x4.mul(w, g1)), 16);
        if (n4 > 2) v128.store(d, f32x4.add(zero, f32x4.mul(w, g2)), 32);
        if (n4 > 3) v128.store(d, f32x4.add(zero, f32x4.mul(w, g3)), 48);
        if (rem > 0) storeTail(d + tailOff, f32x4.add(zero, f32x4.mul(w, gt)), rem);
      } else {
        const d = gradRows + <usize>k * rowBytes;
        if (n4 > 0) v128.store(d, f32x4.add(v128.load(d), f32x4.mul(w, g0)));
        if (n4 > 1) v128.store(d, f32x4.add(v128.load(d, 16), f32x4.mul(w, g1)), 16);
        if (n4 > 2) v128.store(d, f32x4.add(v128.load(d, 32), f32x4.mul(w, g2)), 32);
        if (n4 > 3) v128.store(d, f32x4.add(v128.load(d, 48), f32x4.mul(w, g3)), 48);
        if (rem > 0) storeTail(d + tailOff, f32x4.add(loadTail(d + tailOff, rem), f32x4.mul(w, gt)), rem);
      }
    }
  }
  for (let k = 0; k < u; k++) store<i32>(at(slot, load<i32>(at(uniqueRows, k))), -1);
  return u;
}

/** Scatter-add with duplicates merged through slot (all −1 on entry and exit); returns the unique row count. */
export function embeddingBagBackward(dOut: usize, dim: i32, rows: usize, offsets: usize, nSeg: i32, weights: usize, hasWeights: bool, mean: bool, slot: usize, uniqueRows: usize, gradRows: usize): i32 {
  if (dim <= 16) return embeddingBagBackwardSmall(dOut, dim, rows, offsets, nSeg, weights, hasWeights, mean, slot, uniqueRows, gradRows);
  const rowBytes = <usize>dim * 4;
  let u = 0;
  for (let s = 0; s < nSeg; s++) {
    const lo = load<i32>(at(offsets, s));
    const hi = load<i32>(at(offsets, s + 1));
    const segScale: f32 = mean && hi > lo ? 1 / <f32>(hi - lo) : 1;
    const g = dOut + <usize>s * rowBytes;
    for (let i = lo; i < hi; i++) {
      const r = load<i32>(at(rows, i));
      let k = load<i32>(at(slot, r));
      if (k < 0) {
        k = u++;
        store<i32>(at(slot, r), k);
        store<i32>(at(uniqueRows, k), r);
        memory.fill(gradRows + <usize>k * rowBytes, 0, rowBytes);
      }
      const w: f32 = hasWeights ? load<f32>(at(weights, i)) * segScale : segScale;
      rowAxpy(gradRows + <usize>k * rowBytes, g, w, dim);
    }
  }
  for (let k = 0; k < u; k++) store<i32>(at(slot, load<i32>(at(uniqueRows, k))), -1);
  return u;
}

/**
 * Merge one shard's row gradients into an owner's accumulator: rows r with (r >> 4) % mod == rem are added to
 * outGrad[slot[r]] (a row seen for the first time takes index count, is listed in outRows and copied). Returns the
 * new count. slot (numRows int32, −1 = not yet) is left set; the caller resets it for outRows[0..count).
 */
export function sparseGradMerge(dim: i32, rows: usize, grad: usize, u: i32, mod: i32, rem: i32, slot: usize, outRows: usize, outGrad: usize, count: i32): i32 {
  const rowBytes = <usize>dim * 4;
  // Owners take runs of 16 rows (16·dim floats: whole 64-byte lines, so two owners never write one cache line).
  // Rows are ≥ 0: for a power-of-two mod the owner test is a mask (no integer division per row).
  const mask = mod - 1;
  const pow2 = (mod & mask) == 0;
  for (let k = 0; k < u; k++) {
    const r = load<i32>(at(rows, k));
    const c = r >> 4;
    if (mod > 1 && (pow2 ? c & mask : c % mod) != rem) continue;
    const g = grad + <usize>k * rowBytes;
    let s = load<i32>(at(slot, r));
    if (s < 0) {
      s = count++;
      store<i32>(at(slot, r), s);
      store<i32>(at(outRows, s), r);
      memory.copy(outGrad + <usize>s * rowBytes, g, rowBytes);
    } else rowAxpy(outGrad + <usize>s * rowBytes, g, 1, dim);
  }
  return count;
}

export function embeddingBagWeightGrad(dOut: usize, table: usize, dim: i32, rows: usize, offsets: usize, nSeg: i32, mean: bool, dWeights: usize): void {
  const rowBytes = <usize>dim * 4;
  for (let s = 0; s < nSeg; s++) {
    const lo = load<i32>(at(offsets, s));
    const hi = load<i32>(at(offsets, s + 1));
    const segScale: f32 = mean && hi > lo ? 1 / <f32>(hi - lo) : 1;
    const g = dOut + <usize>s * rowBytes;
    for (let i = lo; i < hi; i++) {
      const t = table + <usize>load<i32>(at(rows, i)) * rowBytes;
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= dim; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(g, j)), v128.load(at(t, j))));
      let d = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; j < dim; j++) d += load<f32>(at(g, j)) * load<f32>(at(t, j));
      store<f32>(at(dWeights, i), d * segScale);
    }
  }
}

export function sparseSgd(table: usize, dim: i32, rows: usize, u: i32, grad: usize, lr: f32, l2: f32): void {
  const rowBytes = <usize>dim * 4;
  const vlr = f32x4.splat(lr);
  const vl2 = f32x4.splat(l2);
  for (let k = 0; k < u; k++) {
    const w = table + <usize>load<i32>(at(rows, k)) * rowBytes;
    const g = grad + <usize>k * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const wv = v128.load(at(w, j));
      const gv = f32x4.add(v128.load(at(g, j)), f32x4.mul(vl2, wv));
      v128.store(at(w, j), f32x4.sub(wv, f32x4.mul(vlr, gv)));
    }
    for (; j < dim; j++) {
      const wv = load<f32>(at(w, j));
      store<f32>(at(w, j), wv - lr * (load<f32>(at(g, j)) + l2 * wv));
    }
  }
}

// One Adagrad step on one row: acc += g²; w −= lr·g / (√acc + eps), g = grad + l2·w.
// @ts-ignore: decorator
@inline
function adagradSpan(w: usize, g: usize, a: usize, dim: i32, lr: f32, l2: f32, eps: f32): void {
  const vlr = f32x4.splat(lr);
  const vl2 = f32x4.splat(l2);
  const veps = f32x4.splat(eps);
  let j = 0;
  for (; j + 4 <= dim; j += 4) {
    const wv = v128.load(at(w, j));
    const gv = f32x4.add(v128.load(at(g, j)), f32x4.mul(vl2, wv));
    const av = f32x4.add(v128.load(at(a, j)), f32x4.mul(gv, gv));
    v128.store(at(a, j), av);
    v128.store(at(w, j), f32x4.sub(wv, f32x4.div(f32x4.mul(vlr, gv), f32x4.add(f32x4.sqrt(av), veps))));
  }
  for (; j < dim; j++) {
    const wv = load<f32>(at(w, j));
    const gv = load<f32>(at(g, j)) + l2 * wv;
    const av = load<f32>(at(a, j)) + gv * gv;
    store<f32>(at(a, j), av);
    store<f32>(at(w, j), wv - (lr * gv) / (Mathf.sqrt(av) + eps));
  }
}

export function sparseAdagrad(table: usize, acc: usize, dim: i32, rows: usize, u: i32, grad: usize, lr: f32, l2: f32, eps: f32): void {
  const rowBytes = <usize>dim * 4;
  let sink = 0;
  for (let k = 0; k < u; k++) {
    if (k + LOOKAHEAD < u) {
      const nx = <usize>load<i32>(at(rows, k + LOOKAHEAD)) * rowBytes;
      sink ^= load<i32>(table + nx) ^ load<i32>(acc + nx);
    }
    const off = <usize>load<i32>(at(rows, k)) * rowBytes;
    adagradSpan(table + off, grad + <usize>k * rowBytes, acc + off, dim, lr, l2, eps);
  }
  prefetchSink ^= sink;
}

// One Adam step on n contiguous floats: w −= stepSize·m / (√(v·bc2inv) + eps), stepSize = lr/(1−β1^t).
// @ts-ignore: decorator
@inline
function adamSpan(w: usize, g: usize, m: usize, v: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, eps: f32, l2: f32, bc2inv: f32): void {
  const vb1 = f32x4.splat(beta1);
  const vb1c = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2);
  const vb2c = f32x4.splat(1 - beta2);
  const vss = f32x4.splat(stepSize);
  const veps = f32x4.splat(eps);
  const vl2 = f32x4.splat(l2);
  const vbc2 = f32x4.splat(bc2inv);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const wv = v128.load(at(w, j));
    const gv = f32x4.add(v128.load(at(g, j)), f32x4.mul(vl2, wv));
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(at(m, j))), f32x4.mul(vb1c, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(at(v, j))), f32x4.mul(vb2c, f32x4.mul(gv, gv)));
    v128.store(at(m, j), mv);
    v128.store(at(v, j), vv);
    v128.store(at(w, j), f32x4.sub(wv, f32x4.div(f32x4.mul(vss, mv), f32x4.add(f32x4.sqrt(f32x4.mul(vv, vbc2)), veps))));
  }
  for (; j < n; j++) {
    const wv = load<f32>(at(w, j));
    const gv = load<f32>(at(g, j)) + l2 * wv;
    const mv = beta1 * load<f32>(at(m, j)) + (1 - beta1) * gv;
    const vv = beta2 * load<f32>(at(v, j)) + (1 - beta2) * gv * gv;
    store<f32>(at(m, j), mv);
    store<f32>(at(v, j), vv);
    store<f32>(at(w, j), wv - (stepSize * mv) / (Mathf.sqrt(vv * bc2inv) + eps));
  }
}

export function sparseAdam(table: usize, m: usize, v: usize, dim: i32, rows: usize, u: i32, grad: usize, stepSize: f32, beta1: f32, beta2: f32, eps: f32, l2: f32, bc2inv: f32): void {
  const rowBytes = <usize>dim * 4;
  let sink = 0;
  for (let k = 0; k < u; k++) {
    if (k + LOOKAHEAD < u) {
      const nx = <usize>load<i32>(at(rows, k + LOOKAHEAD)) * rowBytes;
      sink ^= load<i32>(table + nx) ^ load<i32>(m + nx) ^ load<i32>(v + nx);
    }
    const off = <usize>load<i32>(at(rows, k)) * rowBytes;
    adamSpan(table + off, grad + <usize>k * rowBytes, m + off, v + off, dim, stepSize, beta1, beta2, eps, l2, bc2inv);
  }
  prefetchSink ^= sink;
}

export function adam(w: usize, g: usize, m: usize, v: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc2inv: f32): void {
  adamSpan(w, g, m, v, n, stepSize, beta1, beta2, eps, wd, bc2inv);
}

// --- state shards (kernels/row-state.ts): optimizer state of rows [lo, hi) in a memory of its own ---
// The main memory's rowSplit sorts the touched rows by shard and writes each one's local index and its gradient with
// the l2 term (g + l2·w, as adamSpan / adagradSpan form it); a shard's instance turns those into the step d of each
// row (sparseAdamStep / sparseAdagradStep: the same float32 operations as adamSpan / adagradSpan, its own state rows)
// and rowSubtract applies w −= d in the main memory: bit-identical to sparseAdam / sparseAdagrad on one memory.

/**
 * One pass over the u rows: row r goes to shard s = ⌊r / rowsPerShard⌋ at position c = counts[s]++ of its region
 * (cap rows from s·cap): outRows = r − s·rowsPerShard, outG = grad row k + l2 · table row r. counts (numShards
 * int32) is zeroed first.
 */
export function rowSplit(table: usize, grad: usize, dim: i32, rows: usize, u: i32, rowsPerShard: i32, numShards: i32, cap: i32, l2: f32, outRows: usize, outG: usize, counts: usize): void {
  const rowBytes = <usize>dim * 4;
  const vl2 = f32x4.splat(l2);
  memory.fill(counts, 0, <usize>numShards * 4);
  for (let k = 0; k < u; k++) {
    const r = load<i32>(at(rows, k));
    const s = r / rowsPerShard;
    const c = load<i32>(at(counts, s));
    store<i32>(at(counts, s), c + 1);
    const o = s * cap + c;
    store<i32>(at(outRows, o), r - s * rowsPerShard);
    const w = table + <usize>r * rowBytes;
    const g = grad + <usize>k * rowBytes;
    const d = outG + <usize>o * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) v128.store(at(d, j), f32x4.add(v128.load(at(g, j)), f32x4.mul(vl2, v128.load(at(w, j)))));
    for (; j < dim; j++) store<f32>(at(d, j), load<f32>(at(g, j)) + l2 * load<f32>(at(w, j)));
  }
}

/** table[lo + rows[i]] −= d[i] for i < n (the steps of the rows rowSplit took out). */
export function rowSubtract(table: usize, dim: i32, rows: usize, n: i32, lo: i32, d: usize): void {
  const rowBytes = <usize>dim * 4;
  for (let i = 0; i < n; i++) {
    const w = table + <usize>(lo + load<i32>(at(rows, i))) * rowBytes;
    const x = d + <usize>i * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) v128.store(at(w, j), f32x4.sub(v128.load(at(w, j)), v128.load(at(x, j))));
    for (; j < dim; j++) store<f32>(at(w, j), load<f32>(at(w, j)) - load<f32>(at(x, j)));
  }
}

/** Lazy Adam's moments for u rows (m, v indexed by rows[k]) from gradients gd (l2 included); gd row k becomes its step. */
export function sparseAdamStep(m: usize, v: usize, dim: i32, rows: usize, u: i32, gd: usize, stepSize: f32, beta1: f32, beta2: f32, eps: f32, bc2inv: f32): void {
  const rowBytes = <usize>dim * 4;
  const vb1 = f32x4.splat(beta1);
  const vb1c = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2);
  const vb2c = f32x4.splat(1 - beta2);
  const vss = f32x4.splat(stepSize);
  const veps = f32x4.splat(eps);
  const vbc2 = f32x4.splat(bc2inv);
  let sink = 0;
  for (let k = 0; k < u; k++) {
    if (k + LOOKAHEAD < u) {
      const nx = <usize>load<i32>(at(rows, k + LOOKAHEAD)) * rowBytes;
      sink ^= load<i32>(m + nx) ^ load<i32>(v + nx);
    }
    const off = <usize>load<i32>(at(rows, k)) * rowBytes;
    const mp = m + off;
    const vp = v + off;
    const g = gd + <usize>k * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const gv = v128.load(at(g, j));
      const mv = f32x4.add(f32x4.mul(vb1, v128.load(at(mp, j))), f32x4.mul(vb1c, gv));
      const vv = f32x4.add(f32x4.mul(vb2, v128.load(at(vp, j))), f32x4.mul(vb2c, f32x4.mul(gv, gv)));
      v128.store(at(mp, j), mv);
      v128.store(at(vp, j), vv);
      v128.store(at(g, j), f32x4.div(f32x4.mul(vss, mv), f32x4.add(f32x4.sqrt(f32x4.mul(vv, vbc2)), veps)));
    }
    for (; j < dim; j++) {
      const gv = load<f32>(at(g, j));
      const mv = beta1 * load<f32>(at(mp, j)) + (1 - beta1) * gv;
      const vv = beta2 * load<f32>(at(vp, j)) + (1 - beta2) * gv * gv;
      store<f32>(at(mp, j), mv);
      store<f32>(at(vp, j), vv);
      store<f32>(at(g, j), (stepSize * mv) / (Mathf.sqrt(vv * bc2inv) + eps));
    }
  }
  prefetchSink ^= sink;
}

/** Adagrad's accumulator for u rows (acc indexed by rows[k]) from gradients gd (l2 included); gd row k becomes its step. */
export function sparseAdagradStep(acc: usize, dim: i32, rows: usize, u: i32, gd: usize, lr: f32, eps: f32): void {
  const rowBytes = <usize>dim * 4;
  const vlr = f32x4.splat(lr);
  const veps = f32x4.splat(eps);
  let sink = 0;
  for (let k = 0; k < u; k++) {
    if (k + LOOKAHEAD < u) sink ^= load<i32>(acc + <usize>load<i32>(at(rows, k + LOOKAHEAD)) * rowBytes);
    const a = acc + <usize>load<i32>(at(rows, k)) * rowBytes;
    const g = gd + <usize>k * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const gv = v128.load(at(g, j));
      const av = f32x4.add(v128.load(at(a, j)), f32x4.mul(gv, gv));
      v128.store(at(a, j), av);
      v128.store(at(g, j), f32x4.div(f32x4.mul(vlr, gv), f32x4.add(f32x4.sqrt(av), veps)));
    }
    for (; j < dim; j++) {
      const gv = load<f32>(at(g, j));
      const av = load<f32>(at(a, j)) + gv * gv;
      store<f32>(at(a, j), av);
      store<f32>(at(g, j), (lr * gv) / (Mathf.sqrt(av) + eps));
    }
  }
  prefetchSink ^= sink;
}
