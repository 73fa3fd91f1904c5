// Exact ROC AUC (ties count ½) and log loss, streamed over evaluation sets of any size.
// Scores are float32, so each is mapped to a sortable u32 key; positives and negatives are kept apart as sorted
// runs of (key, count). Runs merge like a binary counter (amortized O(n log n)), memory is O(distinct scores).
// AUC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) is then one sweep over the two merged runs; no approximation anywhere.

import { ConfigError } from '../core/errors.js';
import { IdMap } from '../hash/id-map.js';

/** Log loss clips probabilities to [LOGLOSS_EPS, 1 − LOGLOSS_EPS]. */
export const LOGLOSS_EPS = 1e-7;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Order-preserving u32 key of a float32 (negative floats flipped, positives offset by the sign bit). */
export function floatKey(x: number): number {
  f32[0] = x === 0 ? 0 : x; // −0 and +0 tie
  const b = u32[0];
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

interface Run {
  keys: Uint32Array;
  counts: Float64Array;
}

/** Sorted (key, count) runs that merge when two have the same level (size class). */
class RunStack {
  private runs: { run: Run; level: number }[] = [];

  /** Sort keys (with their weights, else count 1 each) into a run. */
  push(keys: Uint32Array, weights: Float64Array | null = null): void {
    let u = 0;
    const counts = new Float64Array(keys.length);
    if (weights === null) {
      keys.sort();
      for (let i = 0; i < keys.length; i++) {
        if (u > 0 && keys[u - 1] === keys[i]) counts[u - 1]++;
        else {
          keys[u] = keys[i];
          counts[u] = 1;
          u++;
        }
      }
    } else {
      // key · 2^20 + index is exact in a float64 (keys < 2^32, index < 2^20): one numeric sort orders the pairs.
      const packed = new Float64Array(keys.length);
      for (let i = 0; i < keys.length; i++) packed[i] = keys[i] * 1048576 + i;
      packed.sort();
      for (let i = 0; i < packed.length; i++) {
        const k = Math.floor(packed[i] / 1048576);
        const w = weights[packed[i] - k * 1048576];
        if (u > 0 && keys[u - 1] === k) counts[u - 1] += w;
        else {
          keys[u] = k;
          counts[u] = w;
          u++;
        }
      }
    }
    let item: { run: Run; level: number } = { run: { keys: keys.slice(0, u), counts: counts.slice(0, u) }, level: 0 };
    while (this.runs.length > 0 && this.runs[this.runs.length - 1].level <= item.level) {
      const top = this.runs.pop() as { run: Run; level: number };
      item = { run: mergeRuns(top.run, item.run), level: Math.max(top.level, item.level) + 1 };
    }
    this.runs.push(item);
  }

  collapse(): Run {
    let r: Run = { keys: new Uint32Array(0), counts: new Float64Array(0) };
    for (const it of this.runs) r = mergeRuns(r, it.run);
    this.runs = r.keys.length > 0 ? [{ run: r, level: 64 }] : [];
    return r;
  }

  clear(): void {
    this.runs = [];
  }
}

function mergeRuns(a: Run, b: Run): Run {
  const keys = new Uint32Array(a.keys.length + b.keys.length);
  const counts = new Float64Array(keys.length);
  let i = 0;
  let j = 0;
  let u = 0;
  while (i < a.keys.length || j < b.keys.length) {
    let k: number;
    let c: number;
    if (j >= b.keys.length || (i < a.keys.length && a.keys[i] < b.keys[j])) {
      k = a.keys[i];
      c = a.counts[i++];
    } else if (i >= a.keys.length || b.keys[j] < a.keys[i]) {
      k = b.keys[j];
      c = b.counts[j++];
    } else {
      k = a.keys[i];
      c = a.counts[i++] + b.counts[j++];
    }
    keys[u] = k;
    counts[u] = c;
    u++;
  }
  return { keys: keys.slice(0, u), counts: counts.slice(0, u) };
}

/**
 * Streaming exact AUC and log loss.
 * @example
 * const m = new BinaryMetrics();
 * m.add(probs, labels, n);   // any number of times
 * const { auc, logloss } = m.result();
 */
export class BinaryMetrics {
  private readonly chunk: number;
  private readonly pos: Uint32Array;
  private readonly neg: Uint32Array;
  // Row weights of the buffered scores, allocated at the first weighted add().
  private posW: Float64Array | null = null;
  private negW: Float64Array | null = null;
  private wPos = 0;
  private wAll = 0;
  private nPosBuf = 0;
  private nNegBuf = 0;
  private readonly posRuns = new RunStack();
  private readonly negRuns = new RunStack();
  private lossSum = 0;
  private n = 0;
  private nPos = 0;

  /** chunk: scores buffered per class before sorting into a run (≤ 2^20). @default 65536 */
  constructor(chunk = 65536) {
    if (!(Number.isInteger(chunk) && chunk >= 1 && chunk <= 1048576)) throw new ConfigError(`metrics: chunk must be an integer in [1, 2^20], got ${chunk}`);
    this.chunk = chunk;
    this.pos = new Uint32Array(chunk);
    this.neg = new Uint32Array(chunk);
  }

  /**
   * Add n predictions. Labels > 0.5 are positives. `probs` are probabilities in [0, 1] (log loss needs them);
   * for AUC alone any real-valued score works. Scores are compared at float32 precision. `weights`: one sample
   * weight per row (finite, ≥ 0): a row of weight w counts as w rows (AUC over pairs weighted w_i·w_j, log loss a
   * weighted mean); null or absent: every row weighs 1.
   */
  add(probs: ArrayLike<number>, labels: ArrayLike<number>, n: number = probs.length, weights?: ArrayLike<number> | null): void {
    const ws = weights ?? null;
    if (ws !== null && this.posW === null) {
      // Rows added so far weigh 1.
      this.posW = new Float64Array(this.chunk).fill(1, 0, this.nPosBuf);
      this.negW = new Float64Array(this.chunk).fill(1, 0, this.nNegBuf);
    }
    const posW = this.posW;
    const negW = this.negW;
    for (let i = 0; i < n; i++) {
      const p = probs[i];
      if (Number.isNaN(p)) throw new ConfigError(`metrics: score ${i} is NaN`);
      const w = ws === null ? 1 : ws[i];
      if (!(w >= 0 && w < Infinity)) throw new ConfigError(`metrics: weight ${i} is ${w}; weights must be finite and ≥ 0`);
      const key = floatKey(p);
      const pc = Math.min(Math.max(p, LOGLOSS_EPS), 1 - LOGLOSS_EPS);
      if (labels[i] > 0.5) {
        this.lossSum -= w * Math.log(pc);
        if (posW !== null) posW[this.nPosBuf] = w;
        this.pos[this.nPosBuf++] = key;
        this.nPos++;
        this.wPos += w;
        if (this.nPosBuf === this.chunk) this.flush(true);
      } else {
        this.lossSum -= w * Math.log(1 - pc);
        if (negW !== null) negW[this.nNegBuf] = w;
        this.neg[this.nNegBuf++] = key;
        if (this.nNegBuf === this.chunk) this.flush(false);
      }
      this.wAll += w;
      this.n++;
    }
  }

  private flush(positive: boolean): void {
    if (positive) {
      if (this.nPosBuf > 0) this.posRuns.push(this.pos.slice(0, this.nPosBuf), this.posW === null ? null : this.posW.subarray(0, this.nPosBuf));
      this.nPosBuf = 0;
    } else {
      if (this.nNegBuf > 0) this.negRuns.push(this.neg.slice(0, this.nNegBuf), this.negW === null ? null : this.negW.subarray(0, this.nNegBuf));
      this.nNegBuf = 0;
    }
  }

  get count(): number {
    return this.n;
  }

  /** AUC (NaN when one class has no weight), (weighted) mean log loss, row counts and the rows' total weight. */
  result(): { auc: number; logloss: number; n: number; positives: number; weight: number } {
    this.flush(true);
    this.flush(false);
    const P = this.posRuns.collapse();
    const N = this.negRuns.collapse();
    // Sweep keys ascending: each positive beats every negative with a smaller key and ties half of the equal ones.
    let negBelow = 0;
    let wins = 0;
    let j = 0;
    for (let i = 0; i < P.keys.length; i++) {
      const k = P.keys[i];
      while (j < N.keys.length && N.keys[j] < k) negBelow += N.counts[j++];
      const eq = j < N.keys.length && N.keys[j] === k ? N.counts[j] : 0;
      wins += P.counts[i] * (negBelow + 0.5 * eq);
    }
    const wNeg = this.wAll - this.wPos;
    const auc = this.wPos === 0 || wNeg === 0 ? NaN : wins / (this.wPos * wNeg);
    return { auc, logloss: this.wAll > 0 ? this.lossSum / this.wAll : NaN, n: this.n, positives: this.nPos, weight: this.wAll };
  }

  reset(): void {
    this.posRuns.clear();
    this.negRuns.clear();
    this.nPosBuf = 0;
    this.nNegBuf = 0;
    this.lossSum = 0;
    this.n = 0;
    this.nPos = 0;
    this.wPos = 0;
    this.wAll = 0;
    this.posW = null;
    this.negW = null;
  }
}

/** AUC of one in-memory array (convenience over BinaryMetrics). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>, n: number = scores.length): number {
  const m = new BinaryMetrics();
  m.add(scores, labels, n);
  return m.result().auc;
}

/** Mean log loss of one in-memory array. */
export function logloss(probs: ArrayLike<number>, labels: ArrayLike<number>, n: number = probs.length): number {
  const m = new BinaryMetrics();
  m.add(probs, labels, n);
  return m.result().logloss;
}

/** Group AUC of one evaluation: see GroupAuc. */
export interface GroupAucResult {
  /** Σ_g W_g·AUC_g / Σ_g W_g over the groups with both classes (W_g: the group's rows, or its weight sum); NaN when there is none. */
  gauc: number;
  /** Groups that entered the mean (both classes present). */
  groups: number;
  /** Groups left out because all their rows have one label (their AUC is undefined). */
  skippedGroups: number;
  /** Rows in the groups that entered the mean. */
  rows: number;
  /** Rows in the skipped groups. */
  skippedRows: number;
}

/**
 * Group AUC (gAUC, Zhou et al., "Deep Interest Network", KDD 2018, Alibaba: the metric of the BH paper's company):
 * the AUC of each group of rows (one user, one query: the rows sharing one value of a field) averaged with the
 * group's size as weight, gAUC = Σ_g n_g·AUC_g / Σ_g n_g. A group whose rows are all clicks or all non-clicks has
 * no AUC: it is left out of both sums and counted in skippedGroups. With row weights, n_g is the group's weight sum
 * and AUC_g the weighted AUC (pairs weigh w_i·w_j). Exact (ties count ½); holds every row (16 bytes each) until result().
 * @example
 * const g = new GroupAuc();
 * g.add(probs, labels, userIds, n);   // userIds: 2 u32 words (64-bit hash id) per row
 * const { gauc, groups, skippedGroups } = g.result();
 */
export class GroupAuc {
  private readonly ids = new IdMap(1024);
  private nGroups = 0;
  private group = new Int32Array(1024);
  private score = new Float32Array(1024);
  private label = new Uint8Array(1024);
  private weight = new Float64Array(1024);
  private n = 0;

  /** Add n rows: score, label (> 0.5 is a click), group id (2 u32 words per row) and optional row weight (default 1). */
  add(probs: ArrayLike<number>, labels: ArrayLike<number>, groupIds: ArrayLike<number>, n: number = probs.length, weights?: ArrayLike<number> | null): void {
    if (this.n + n > this.group.length) {
      const cap = Math.max(2 * this.group.length, this.n + n);
      const grow = <T extends Int32Array | Float32Array | Uint8Array | Float64Array>(a: T, make: (k: number) => T): T => {
        const b = make(cap);
        b.set(a.subarray(0, this.n) as never);
        return b;
      };
      this.group = grow(this.group, (k) => new Int32Array(k));
      this.score = grow(this.score, (k) => new Float32Array(k));
      this.label = grow(this.label, (k) => new Uint8Array(k));
      this.weight = grow(this.weight, (k) => new Float64Array(k));
    }
    for (let i = 0; i < n; i++) {
      const lo = groupIds[2 * i];
      const hi = groupIds[2 * i + 1];
      let g = this.ids.get(lo, hi);
      if (g < 0) {
        g = this.nGroups++;
        this.ids.set(lo, hi, g);
      }
      const r = this.n++;
      if (Number.isNaN(probs[i])) throw new ConfigError(`metrics: score ${i} is NaN`);
      this.group[r] = g;
      this.score[r] = probs[i];
      this.label[r] = labels[i] > 0.5 ? 1 : 0;
      this.weight[r] = weights ? weights[i] : 1;
    }
  }

  result(): GroupAucResult {
    const G = this.nGroups;
    // Rows by group (counting sort), then each group's rows by score.
    const start = new Int32Array(G + 1);
    for (let r = 0; r < this.n; r++) start[this.group[r] + 1]++;
    for (let g = 0; g < G; g++) start[g + 1] += start[g];
    const order = new Int32Array(this.n);
    const fill = start.slice(0, G);
    for (let r = 0; r < this.n; r++) order[fill[this.group[r]]++] = r;
    let sum = 0;
    let wsum = 0;
    const out: GroupAucResult = { gauc: NaN, groups: 0, skippedGroups: 0, rows: 0, skippedRows: 0 };
    for (let g = 0; g < G; g++) {
      const rows = Array.from(order.subarray(start[g], start[g + 1]));
      let wPos = 0;
      let wNeg = 0;
      for (const r of rows) {
        if (this.label[r] === 1) wPos += this.weight[r];
        else wNeg += this.weight[r];
      }
      if (wPos === 0 || wNeg === 0) {
        out.skippedGroups++;
        out.skippedRows += rows.length;
        continue;
      }
      rows.sort((a, b) => this.score[a] - this.score[b]);
      let negBelow = 0;
      let wins = 0;
      for (let i = 0; i < rows.length; ) {
        let j = i;
        let pos = 0;
        let neg = 0;
        while (j < rows.length && this.score[rows[j]] === this.score[rows[i]]) {
          if (this.label[rows[j]] === 1) pos += this.weight[rows[j]];
          else neg += this.weight[rows[j]];
          j++;
        }
        wins += pos * (negBelow + 0.5 * neg);
        negBelow += neg;
        i = j;
      }
      const w = wPos + wNeg;
      sum += (w * wins) / (wPos * wNeg);
      wsum += w;
      out.groups++;
      out.rows += rows.length;
    }
    out.gauc = wsum > 0 ? sum / wsum : NaN;
    return out;
  }
}
