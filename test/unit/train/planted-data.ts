// A generated CTR task with a planted answer. Teacher logit:
//   z = b + Σ_f w_f(v_f) + Σ_{f<g} ⟨u_f(v_f), u_g(v_g)⟩ + a·dense
// with random per-value weights w, rank-2 pairwise vectors u and a dense weight a; label ~ Bernoulli(σ(z)).
// The teacher's own probabilities give the Bayes-optimal AUC on the same sample, the yardstick for models.

import { Rng } from '../../../src/core/rng.js';
import type { Columns as Dataset } from '../../../src/data/batches/columns.js';

export interface PlantedTask {
  train: Dataset;
  valid: Dataset;
  test: Dataset;
  /** Teacher probabilities of the test rows. */
  testProbs: Float32Array;
  cards: number[];
}

export interface PlantedOptions {
  cards?: number[];
  nTrain?: number;
  nValid?: number;
  nTest?: number;
  numDense?: number;
  mainStd?: number;
  pairStd?: number;
  seed?: number;
}

export function plantedTask(o: PlantedOptions = {}): PlantedTask {
  const cards = o.cards ?? [40, 60, 30, 80];
  const numDense = o.numDense ?? 1;
  const rng = new Rng(o.seed ?? 42);
  const mainStd = o.mainStd ?? 1.0;
  const pairStd = o.pairStd ?? 0.6;
  const w = cards.map((c) => Float64Array.from({ length: c }, () => mainStd * rng.normal()));
  const u = cards.map((c) => Float64Array.from({ length: 2 * c }, () => pairStd * rng.normal()));
  const a = Float64Array.from({ length: numDense }, () => rng.normal());
  const bias = -0.5;
  const make = (n: number): { ds: Dataset; probs: Float32Array } => {
    const labels = new Float32Array(n);
    const probs = new Float32Array(n);
    const ids = cards.map(() => new Uint32Array(2 * n));
    const dense = numDense > 0 ? new Float32Array(n * numDense) : null;
    const v = new Int32Array(cards.length);
    for (let r = 0; r < n; r++) {
      let z = bias;
      for (let f = 0; f < cards.length; f++) {
        // Zipf-ish popularity: small ids are frequent.
        v[f] = Math.min(cards[f] - 1, Math.floor(cards[f] * rng.next() ** 2));
        ids[f][2 * r] = v[f];
        z += w[f][v[f]];
      }
      for (let f = 0; f < cards.length; f++)
        for (let g = f + 1; g < cards.length; g++) z += u[f][2 * v[f]] * u[g][2 * v[g]] + u[f][2 * v[f] + 1] * u[g][2 * v[g] + 1];
      for (let i = 0; i < numDense; i++) {
        const x = rng.normal();
        (dense as Float32Array)[r * numDense + i] = x;
        z += a[i] * x;
      }
      const p = 1 / (1 + Math.exp(-z));
      probs[r] = p;
      labels[r] = rng.next() < p ? 1 : 0;
    }
    return { ds: { rows: n, labels, fields: ids.map((i) => ({ ids: i })), numDense, dense }, probs };
  };
  const tr = make(o.nTrain ?? 6000);
  const va = make(o.nValid ?? 2000);
  const te = make(o.nTest ?? 4000);
  return { train: tr.ds, valid: va.ds, test: te.ds, testProbs: te.probs, cards };
}
