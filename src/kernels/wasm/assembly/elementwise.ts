// Elementwise, loss, bias and DCN cross kernels: f32x4 main loops with scalar tails.
// Semantics follow reference.ts exactly (NaN → 0 in relu, the dropout hash, the stable BCE form).

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

export function addRowVector(y: usize, v: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const row = y + <usize>i * <usize>n * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(at(row, j), f32x4.add(v128.load(at(row, j)), v128.load(at(v, j))));
    for (; j < n; j++) store<f32>(at(row, j), load<f32>(at(row, j)) + load<f32>(at(v, j)));
  }
}

export function sumRows(x: usize, m: i32, n: i32, out: usize, accumulate: bool): void {
  if (!accumulate) memory.fill(out, 0, <usize>n * 4);
  for (let i = 0; i < m; i++) {
    const row = x + <usize>i * <usize>n * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(at(out, j), f32x4.add(v128.load(at(out, j)), v128.load(at(row, j))));
    for (; j < n; j++) store<f32>(at(out, j), load<f32>(at(out, j)) + load<f32>(at(row, j)));
  }
}

export function relu(x: usize, y: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(x, i));
    v128.store(at(y, i), v128.and(v, f32x4.gt(v, z)));
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), v > 0 ? v : 0);
  }
}

export function reluBackward(y: usize, dy: usize, dx: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dx, i), v128.and(v128.load(at(dy, i)), f32x4.gt(v128.load(at(y, i)), z)));
  for (; i < n; i++) store<f32>(at(dx, i), load<f32>(at(y, i)) > 0 ? load<f32>(at(dy, i)) : 0);
}

export function sigmoid(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const z = load<f32>(at(x, i));
    let s: f32;
    if (z >= 0) s = 1 / (1 + Mathf.exp(-z));
    else {
      const e = Mathf.exp(z);
      s = e / (1 + e);
    }
    store<f32>(at(y, i), s);
  }
}

export function mul(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * load<f32>(at(b, i)));
}

export function axpy(alpha: f32, x: usize, y: usize, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.add(v128.load(at(y, i)), f32x4.mul(va, v128.load(at(x, i)))));
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + alpha * load<f32>(at(x, i)));
}

/**
 * Same counter-based stream as reference.ts dropoutUniform: h = fmix32(i·0x9E3779B1 + seed·0x85EBCA77), kept
 * when (h >>> 8)/2^24 ≥ p, i.e. (h >>> 8) ≥ threshold = ⌈p·2^24⌉ (computed by the caller, exact). Four lanes at once.
 */
export function dropoutMask(mask: usize, n: i32, threshold: i32, keep: f32, seed: i32): void {
  const sk = seed * <i32>0x85ebca77;
  const vk = f32x4.splat(keep);
  const vt = i32x4.splat(threshold);
  const step = i32x4.splat(<i32>0x9e3779b1 * 4);
  const c1 = i32x4.splat(<i32>0x85ebca6b);
  const c2 = i32x4.splat(<i32>0xc2b2ae35);
  // lane l holds i·0x9E3779B1 + sk for i = base + l
  let hv = i32x4.add(i32x4(0, <i32>0x9e3779b1, <i32>0x9e3779b1 * 2, <i32>0x9e3779b1 * 3), i32x4.splat(sk));
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let h = hv;
    h = v128.xor(h, i32x4.shr_u(h, 16));
    h = i32x4.mul(h, c1);
    h = v128.xor(h, i32x4.shr_u(h, 13));
    h = i32x4.mul(h, c2);
    h = v128.xor(h, i32x4.shr_u(h, 16));
    v128.store(mask + (<usize>i << 2), v128.and(vk, i32x4.ge_s(i32x4.shr_u(h, 8), vt)));
    hv = i32x4.add(hv, step);
  }
  for (; i < n; i++) {
    let h = i * <i32>0x9e3779b1 + sk;
    h ^= h >>> 16;
    h *= <i32>0x85ebca6b;
    h ^= h >>> 13;
    h *= <i32>0xc2b2ae35;
    h ^= h >>> 16;
    store<f32>(mask + (<usize>i << 2), (h >>> 8) >= threshold ? keep : 0);
  }
}

/** Σ max(z,0) − z·y + log1p(e^−|z|), in f64; dlogits = scale·(σ(z) − y). */
export function bceWithLogits(logits: usize, labels: usize, n: i32, dlogits: usize, scale: f32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const z = <f64>load<f32>(at(logits, i));
    const y = <f64>load<f32>(at(labels, i));
    const e = Math.exp(-Math.abs(z));
    total += Math.max(z, 0) - z * y + Math.log1p(e);
    const s = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    store<f32>(at(dlogits, i), <f32>(<f64>scale * (s - y)));
  }
  return total;
}

export function crossForward(x0: usize, u: usize, xl: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.add(f32x4.mul(v128.load(at(x0, i)), v128.load(at(u, i))), v128.load(at(xl, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(x0, i)) * load<f32>(at(u, i)) + load<f32>(at(xl, i)));
}

export function crossBackward(x0: usize, u: usize, dOut: usize, dU: usize, dX0: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g = v128.load(at(dOut, i));
    const uu = v128.load(at(u, i));
    v128.store(at(dU, i), f32x4.mul(g, v128.load(at(x0, i))));
    v128.store(at(dX0, i), f32x4.add(v128.load(at(dX0, i)), f32x4.mul(g, uu)));
  }
  for (; i < n; i++) {
    const g = load<f32>(at(dOut, i));
    const uu = load<f32>(at(u, i));
    store<f32>(at(dU, i), g * load<f32>(at(x0, i)));
    store<f32>(at(dX0, i), load<f32>(at(dX0, i)) + g * uu);
  }
}
