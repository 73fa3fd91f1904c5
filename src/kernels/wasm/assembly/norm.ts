// Batch norm (train / infer / backward) and the FM second-order interaction. Batch norm walks x row by row
// (cache friendly for row-major m × n) with per-column accumulators; those live in the save buffers or in
// the caller's scratch (2n floats), never in allocated memory.

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// dst[j] (+)= Σ_i f(x[i, j]) over rows, f = identity, or (x − mu)² when sq.
function columnSums(x: usize, m: i32, n: i32, mu: usize, sq: bool, dst: usize): void {
  memory.fill(dst, 0, <usize>n * 4);
  for (let i = 0; i < m; i++) {
    const row = x + <usize>i * <usize>n * 4;
    let j = 0;
    if (sq) {
      for (; j + 4 <= n; j += 4) {
        const d = f32x4.sub(v128.load(at(row, j)), v128.load(at(mu, j)));
        v128.store(at(dst, j), f32x4.add(v128.load(at(dst, j)), f32x4.mul(d, d)));
      }
      for (; j < n; j++) {
        const d = load<f32>(at(row, j)) - load<f32>(at(mu, j));
        store<f32>(at(dst, j), load<f32>(at(dst, j)) + d * d);
      }
    } else {
      for (; j + 4 <= n; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(dst, j)), v128.load(at(row, j))));
      for (; j < n; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(row, j)));
    }
  }
}

// y[i, j] = (x[i, j] − mu[j]) · inv[j] · gamma[j] + beta[j]
function normalize(x: usize, m: i32, n: i32, mu: usize, inv: usize, gamma: usize, beta: usize, y: usize): void {
  for (let i = 0; i < m; i++) {
    const xr = x + <usize>i * <usize>n * 4;
    const yr = y + <usize>i * <usize>n * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const d = f32x4.sub(v128.load(at(xr, j)), v128.load(at(mu, j)));
      v128.store(at(yr, j), f32x4.add(f32x4.mul(f32x4.mul(d, v128.load(at(inv, j))), v128.load(at(gamma, j))), v128.load(at(beta, j))));
    }
    for (; j < n; j++) {
      store<f32>(at(yr, j), (load<f32>(at(xr, j)) - load<f32>(at(mu, j))) * load<f32>(at(inv, j)) * load<f32>(at(gamma, j)) + load<f32>(at(beta, j)));
    }
  }
}

export function batchNormTrain(x: usize, m: i32, n: i32, gamma: usize, beta: usize, runMean: usize, runVar: usize, momentum: f32, eps: f32, y: usize, saveMean: usize, saveInvStd: usize): void {
  columnSums(x, m, n, 0, false, saveMean);
  const invM: f32 = 1 / <f32>m;
  for (let j = 0; j < n; j++) store<f32>(at(saveMean, j), load<f32>(at(saveMean, j)) * invM);
  columnSums(x, m, n, saveMean, true, saveInvStd);
  const unbias: f32 = m > 1 ? 1 / <f32>(m - 1) : invM;
  for (let j = 0; j < n; j++) {
    const ss = load<f32>(at(saveInvStd, j));
    const mu = load<f32>(at(saveMean, j));
    store<f32>(at(saveInvStd, j), 1 / Mathf.sqrt(ss * invM + eps));
    store<f32>(at(runMean, j), (1 - momentum) * load<f32>(at(runMean, j)) + momentum * mu);
    store<f32>(at(runVar, j), (1 - momentum) * load<f32>(at(runVar, j)) + momentum * ss * unbias);
  }
  normalize(x, m, n, saveMean, saveInvStd, gamma, beta, y);
}

/** scratch: n floats. */
export function batchNormInfer(x: usize, m: i32, n: i32, gamma: usize, beta: usize, runMean: usize, runVar: usize, eps: f32, y: usize, scratch: usize): void {
  for (let j = 0; j < n; j++) store<f32>(at(scratch, j), 1 / Mathf.sqrt(load<f32>(at(runVar, j)) + eps));
  normalize(x, m, n, runMean, scratch, gamma, beta, y);
}

/** scratch: 2n floats. dx may alias dy. */
export function batchNormBackward(x: usize, dy: usize, m: i32, n: i32, gamma: usize, saveMean: usize, saveInvStd: usize, dx: usize, dGamma: usize, dBeta: usize, scratch: usize): void {
  const sumDy = scratch;
  const sumDyXhat = scratch + <usize>n * 4;
  memory.fill(scratch, 0, <usize>n * 8);
  for (let i = 0; i < m; i++) {
    const xr = x + <usize>i * <usize>n * 4;
    const gr = dy + <usize>i * <usize>n * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const g = v128.load(at(gr, j));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xr, j)), v128.load(at(saveMean, j))), v128.load(at(saveInvStd, j)));
      v128.store(at(sumDy, j), f32x4.add(v128.load(at(sumDy, j)), g));
      v128.store(at(sumDyXhat, j), f32x4.add(v128.load(at(sumDyXhat, j)), f32x4.mul(g, xh)));
    }
    for (; j < n; j++) {
      const g = load<f32>(at(gr, j));
      const xh = (load<f32>(at(xr, j)) - load<f32>(at(saveMean, j))) * load<f32>(at(saveInvStd, j));
      store<f32>(at(sumDy, j), load<f32>(at(sumDy, j)) + g);
      store<f32>(at(sumDyXhat, j), load<f32>(at(sumDyXhat, j)) + g * xh);
    }
  }
  // dx = γ·inv/m · (m·dy − Σdy − x̂·Σ(dy·x̂))
  const fm = <f32>m;
  const invM: f32 = 1 / fm;
  const vm = f32x4.splat(fm);
  const vinvM = f32x4.splat(invM);
  for (let i = 0; i < m; i++) {
    const xr = x + <usize>i * <usize>n * 4;
    const gr = dy + <usize>i * <usize>n * 4;
    const dr = dx + <usize>i * <usize>n * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const inv = v128.load(at(saveInvStd, j));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xr, j)), v128.load(at(saveMean, j))), inv);
      const c = f32x4.mul(f32x4.mul(v128.load(at(gamma, j)), inv), vinvM);
      const t = f32x4.sub(f32x4.sub(f32x4.mul(vm, v128.load(at(gr, j))), v128.load(at(sumDy, j))), f32x4.mul(xh, v128.load(at(sumDyXhat, j))));
      v128.store(at(dr, j), f32x4.mul(c, t));
    }
    for (; j < n; j++) {
      const inv = load<f32>(at(saveInvStd, j));
      const xh = (load<f32>(at(xr, j)) - load<f32>(at(saveMean, j))) * inv;
      const c = load<f32>(at(gamma, j)) * inv * invM;
      store<f32>(at(dr, j), c * (fm * load<f32>(at(gr, j)) - load<f32>(at(sumDy, j)) - xh * load<f32>(at(sumDyXhat, j))));
    }
  }
  for (let j = 0; j < n; j++) {
    store<f32>(at(dGamma, j), load<f32>(at(dGamma, j)) + load<f32>(at(sumDyXhat, j)));
    store<f32>(at(dBeta, j), load<f32>(at(dBeta, j)) + load<f32>(at(sumDy, j)));
  }
}

/** out[i] = ½ Σ_d ((Σ_f x)² − Σ_f x²), x is b × f × d. */
export function fmForward(x: usize, b: i32, f: i32, d: i32, out: usize): void {
  const sampleBytes = <usize>f * <usize>d * 4;
  const rowBytes = <usize>d * 4;
  for (let i = 0; i < b; i++) {
    const xs = x + <usize>i * sampleBytes;
    let tv = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= d; k += 4) {
      let s = f32x4.splat(0);
      let q = f32x4.splat(0);
      for (let j = 0; j < f; j++) {
        const t = v128.load(at(xs + <usize>j * rowBytes, k));
        s = f32x4.add(s, t);
        q = f32x4.add(q, f32x4.mul(t, t));
      }
      tv = f32x4.add(tv, f32x4.sub(f32x4.mul(s, s), q));
    }
    let total = f32x4.extract_lane(tv, 0) + f32x4.extract_lane(tv, 1) + f32x4.extract_lane(tv, 2) + f32x4.extract_lane(tv, 3);
    for (; k < d; k++) {
      let s: f32 = 0;
      let q: f32 = 0;
      for (let j = 0; j < f; j++) {
        const t = load<f32>(at(xs + <usize>j * rowBytes, k));
        s += t;
        q += t * t;
      }
      total += s * s - q;
    }
    store<f32>(at(out, i), 0.5 * total);
  }
}

/** dx[i,j,:] += dOut[i] · (Σ_f x[i,:,:] − x[i,j,:]). */
export function fmBackward(x: usize, dOut: usize, b: i32, f: i32, d: i32, dx: usize): void {
  const sampleBytes = <usize>f * <usize>d * 4;
  const rowBytes = <usize>d * 4;
  for (let i = 0; i < b; i++) {
    const xs = x + <usize>i * sampleBytes;
    const ds = dx + <usize>i * sampleBytes;
    const g = load<f32>(at(dOut, i));
    const vg = f32x4.splat(g);
    let k = 0;
    for (; k + 4 <= d; k += 4) {
      let s = f32x4.splat(0);
      for (let j = 0; j < f; j++) s = f32x4.add(s, v128.load(at(xs + <usize>j * rowBytes, k)));
      for (let j = 0; j < f; j++) {
        const p = at(ds + <usize>j * rowBytes, k);
        v128.store(p, f32x4.add(v128.load(p), f32x4.mul(vg, f32x4.sub(s, v128.load(at(xs + <usize>j * rowBytes, k))))));
      }
    }
    for (; k < d; k++) {
      let s: f32 = 0;
      for (let j = 0; j < f; j++) s += load<f32>(at(xs + <usize>j * rowBytes, k));
      for (let j = 0; j < f; j++) {
        const p = at(ds + <usize>j * rowBytes, k);
        store<f32>(p, load<f32>(p) + g * (s - load<f32>(at(xs + <usize>j * rowBytes, k))));
      }
    }
  }
}
