// Blocked SIMD GEMM (Goto/BLIS layout): op(A) and op(B) are packed into contiguous panels, then a 4×8
// register-blocked micro-kernel (8 f32x4 accumulators) sweeps them. Packing absorbs all four transpose cases,
// so only the packers know about strides. No allocation: the caller passes `scratch` (see GEMM_SCRATCH_BYTES).

// Micro-tile: MR rows × NR columns of C held in registers (8 v128 accumulators).
const MR: i32 = 4;
const NR: i32 = 8;
// Cache blocks: a KC×NC panel of B (~1 MiB, L2) and an MC×KC block of A (128 KiB).
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;
// Column chunk of the matrix-vector accumulate path (its accumulator lives in the spill area of scratch).
const GEMV_CHUNK: i32 = 4096;

/** Bytes of scratch gemm needs: packed B panel + packed A block + one spill tile. */
export function gemmScratchBytes(): i32 {
  return (KC * NC + MC * KC + max(MR * NR, GEMV_CHUNK)) * 4 + 64;
}

// Packs rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row strips: ap[strip][p][ii], zero padded.
function packA(transA: bool, a: usize, m: i32, k: i32, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  for (let s = 0; s < mc; s += MR) {
    const rows = min(MR, mc - s);
    const dst = ap + <usize>(s * kc) * 4;
    if (transA) {
      // A stored k×m: op(A)[i, p] = a[p·m + i]; the MR rows of a strip are contiguous for each p.
      const base = a + <usize>(i0 + s) * 4;
      if (rows == MR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst + <usize>(p * MR) * 4, v128.load(base + <usize>(p0 + p) * <usize>m * 4));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const src = base + <usize>(p0 + p) * <usize>m * 4;
          const d = dst + <usize>(p * MR) * 4;
          for (let ii = 0; ii < MR; ii++) store<f32>(d + <usize>ii * 4, ii < rows ? load<f32>(src + <usize>ii * 4) : 0);
        }
      }
    } else {
      // A stored m×k: op(A)[i, p] = a[i·k + p]; transpose 4×4 blocks in registers.
      const r0 = a + (<usize>(i0 + s) * <usize>k + <usize>p0) * 4;
      const rs = <usize>k * 4;
      if (rows == MR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const x0 = v128.load(r0 + <usize>p * 4);
          const x1 = v128.load(r0 + rs + <usize>p * 4);
          const x2 = v128.load(r0 + 2 * rs + <usize>p * 4);
          const x3 = v128.load(r0 + 3 * rs + <usize>p * 4);
          // 4×4 transpose: t0 = [x0.0 x1.0 x0.1 x1.1], t1 = [x2.0 x3.0 x2.1 x3.1], ...
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const d = dst + <usize>(p * MR) * 4;
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
          v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
          v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        }
        for (; p < kc; p++) {
          const d = dst + <usize>(p * MR) * 4;
          for (let ii = 0; ii < MR; ii++) store<f32>(d + <usize>ii * 4, load<f32>(r0 + <usize>ii * rs + <usize>p * 4));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = dst + <usize>(p * MR) * 4;
          for (let ii = 0; ii < MR; ii++) store<f32>(d + <usize>ii * 4, ii < rows ? load<f32>(r0 + <usize>ii * rs + <usize>p * 4) : 0);
        }
      }
    }
  }
}

// Packs rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-column strips: bp[strip][p][jj], zero padded.
function packB(transB: bool, b: usize, n: i32, k: i32, p0: i32, kc: i32, j0: i32, nc: i32, bp: usize): void {
  for (let s = 0; s < nc; s += NR) {
    const cols = min(NR, nc - s);
    const dst = bp + <usize>(s * kc) * 4;
    if (!transB) {
      // B stored k×n: a strip row is NR contiguous floats.
      const base = b + (<usize>p0 * <usize>n + <usize>(j0 + s)) * 4;
      const rs = <usize>n * 4;
      if (cols == NR) {
        for (let p = 0; p < kc; p++) {
          const src = base + <usize>p * rs;
          const d = dst + <usize>(p * NR) * 4;
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const src = base + <usize>p * rs;
          const d = dst + <usize>(p * NR) * 4;
          for (let jj = 0; jj < NR; jj++) store<f32>(d + <usize>jj * 4, jj < cols ? load<f32>(src + <usize>jj * 4) : 0);
        }
      }
    } else {
      // B stored n×k: op(B)[p, j] = b[j·k + p]; transpose 4×4 blocks (two per 8-wide strip row group).
      const r0 = b + (<usize>(j0 + s) * <usize>k + <usize>p0) * 4;
      const rs = <usize>k * 4;
      if (cols == NR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          for (let h = 0; h < 2; h++) {
            const rb = r0 + <usize>(h * 4) * rs + <usize>p * 4;
            const x0 = v128.load(rb);
            const x1 = v128.load(rb + rs);
            const x2 = v128.load(rb + 2 * rs);
            const x3 = v128.load(rb + 3 * rs);
            const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
            const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
            const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
            const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
            const d = dst + <usize>(p * NR + h * 4) * 4;
            v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
            v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), NR * 4);
            v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), NR * 8);
            v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), NR * 12);
          }
        }
        for (; p < kc; p++) {
          const d = dst + <usize>(p * NR) * 4;
          for (let jj = 0; jj < NR; jj++) store<f32>(d + <usize>jj * 4, load<f32>(r0 + <usize>jj * rs + <usize>p * 4));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = dst + <usize>(p * NR) * 4;
          for (let jj = 0; jj < NR; jj++) store<f32>(d + <usize>jj * 4, jj < cols ? load<f32>(r0 + <usize>jj * rs + <usize>p * 4) : 0);
        }
      }
    }
  }
}

// C tile row store: c = alpha·acc + beta·c (beta == 0 never reads c, so NaN garbage is ignored).
// @ts-ignore: decorator
@inline
function storeRow(c: usize, acc: v128, alpha: v128, beta: f32, vb: v128): void {
  if (beta == 0) v128.store(c, f32x4.mul(acc, alpha));
  else v128.store(c, f32x4.add(f32x4.mul(acc, alpha), f32x4.mul(v128.load(c), vb)));
}

// MR×NR micro-kernel over kc packed steps. Full tiles store straight to C; edge tiles spill to `tmp` first.
function kernel(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, alpha: f32, beta: f32, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += MR * 4;
    bp += NR * 4;
  }
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  if (rows == MR && cols == NR) {
    const rs = <usize>ldc * 4;
    storeRow(c, c00, va, beta, vb);
    storeRow(c + 16, c01, va, beta, vb);
    storeRow(c + rs, c10, va, beta, vb);
    storeRow(c + rs + 16, c11, va, beta, vb);
    storeRow(c + 2 * rs, c20, va, beta, vb);
    storeRow(c + 2 * rs + 16, c21, va, beta, vb);
    storeRow(c + 3 * rs, c30, va, beta, vb);
    storeRow(c + 3 * rs + 16, c31, va, beta, vb);
    return;
  }
  v128.store(tmp, c00);
  v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32);
  v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64);
  v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96);
  v128.store(tmp, c31, 112);
  for (let i = 0; i < rows; i++) {
    const crow = c + <usize>(i * ldc) * 4;
    for (let j = 0; j < cols; j++) {
      const v = alpha * load<f32>(tmp + <usize>(i * NR + j) * 4);
      const q = crow + <usize>j * 4;
      store<f32>(q, beta == 0 ? v : v + beta * load<f32>(q));
    }
  }
}

// out[r] = alpha · ⟨x[r, 0..len), v⟩ + beta · out[r] for r < count (x row-major, row stride len).
function gemvDot(x: usize, count: i32, len: i32, v: usize, out: usize, alpha: f32, beta: f32): void {
  const rs = <usize>len * 4;
  for (let r = 0; r < count; r++) {
    const row = x + <usize>r * rs;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    let p = 0;
    for (; p + 8 <= len; p += 8) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load(row + (<usize>p << 2)), v128.load(v + (<usize>p << 2))));
      s1 = f32x4.add(s1, f32x4.mul(v128.load(row + (<usize>p << 2), 16), v128.load(v + (<usize>p << 2), 16)));
    }
    for (; p + 4 <= len; p += 4) s0 = f32x4.add(s0, f32x4.mul(v128.load(row + (<usize>p << 2)), v128.load(v + (<usize>p << 2))));
    s0 = f32x4.add(s0, s1);
    let d = f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3);
    for (; p < len; p++) d += load<f32>(row + (<usize>p << 2)) * load<f32>(v + (<usize>p << 2));
    const q = out + (<usize>r << 2);
    store<f32>(q, beta == 0 ? alpha * d : alpha * d + beta * load<f32>(q));
  }
}

// out[0..len) = alpha · Σ_r coef[r] · x[r, 0..len) + beta · out (x row-major with count rows of len).
// Summed exactly as the packed kernel sums one element (r ascending within KC blocks, acc·alpha + out·beta per
// block), so a row of C is bit-identical whether it is computed alone (m = 1) or inside a batch.
function gemvAxpy(x: usize, count: i32, len: i32, coef: usize, out: usize, alpha: f32, beta: f32, tmp: usize): void {
  const rs = <usize>len * 4;
  const va = f32x4.splat(alpha);
  for (let j0 = 0; j0 < len; j0 += GEMV_CHUNK) {
    const w = min(GEMV_CHUNK, len - j0);
    const o = out + (<usize>j0 << 2);
    for (let pc = 0; pc < count; pc += KC) {
      const kc = min(KC, count - pc);
      memory.fill(tmp, 0, <usize>w * 4);
      for (let r = pc; r < pc + kc; r++) {
        const a = v128.load32_splat(coef + (<usize>r << 2));
        const row = x + <usize>r * rs + (<usize>j0 << 2);
        let j = 0;
        for (; j + 4 <= w; j += 4) {
          const q = tmp + (<usize>j << 2);
          v128.store(q, f32x4.add(v128.load(q), f32x4.mul(a, v128.load(row + (<usize>j << 2)))));
        }
        const as = f32x4.extract_lane(a, 0);
        for (; j < w; j++) {
          const q = tmp + (<usize>j << 2);
          store<f32>(q, load<f32>(q) + as * load<f32>(row + (<usize>j << 2)));
        }
      }
      const be: f32 = pc == 0 ? beta : 1;
      const vb = f32x4.splat(be);
      let j = 0;
      for (; j + 4 <= w; j += 4) {
        const q = o + (<usize>j << 2);
        const acc = f32x4.mul(v128.load(tmp + (<usize>j << 2)), va);
        v128.store(q, be == 0 ? acc : f32x4.add(acc, f32x4.mul(v128.load(q), vb)));
      }
      for (; j < w; j++) {
        const q = o + (<usize>j << 2);
        const acc = load<f32>(tmp + (<usize>j << 2)) * alpha;
        store<f32>(q, be == 0 ? acc : acc + load<f32>(q) * be);
      }
    }
  }
}

/** C[m×n] = alpha·op(A)·op(B) + beta·C, row-major; see ops.ts. scratch holds gemmScratchBytes() bytes. */
export function gemm(transA: bool, transB: bool, m: i32, n: i32, k: i32, alpha: f32, a: usize, b: usize, beta: f32, c: usize, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // No products: C = beta·C (beta == 0 clears, NaN included).
    const total = m * n;
    for (let i = 0; i < total; i++) {
      const q = c + <usize>i * 4;
      store<f32>(q, beta == 0 ? 0 : beta * load<f32>(q));
    }
    return;
  }
  const bp = (scratch + 63) & ~(<usize>63);
  const ap = bp + <usize>(KC * NC) * 4;
  const tmp = ap + <usize>(MC * KC) * 4;
  // Matrix-vector shapes (the 1-unit output layer, single-row serving, their gradients): no packing.
  // With n = 1, op(B) is the contiguous vector b; with m = 1, op(A) is the contiguous vector a. n = 1 is tested
  // first so that a 1-unit layer takes the same path for every batch size m.
  if (n == 1) {
    if (!transA) gemvDot(a, m, k, b, c, alpha, beta);
    else gemvAxpy(a, k, m, b, c, alpha, beta, tmp);
    return;
  }
  if (m == 1) {
    if (transB) gemvDot(b, n, k, a, c, alpha, beta);
    else gemvAxpy(b, k, n, a, c, alpha, beta, tmp);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(transB, b, n, k, pc, kc, jc, nc, bp);
      // Later k-blocks accumulate onto the first block's result.
      const betaEff: f32 = pc == 0 ? beta : 1;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(transA, a, m, k, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bstrip = bp + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const cptr = c + (<usize>(ic + ir) * <usize>n + <usize>(jc + jr)) * 4;
            kernel(kc, ap + <usize>(ir * kc) * 4, bstrip, cptr, n, rows, cols, alpha, betaEff, tmp);
          }
        }
      }
    }
  }
}
