// Shared finite-difference check of a whole CtrModel (gradients.test.ts, field-dims.test.ts): the summed logistic
// loss, a sample of the dense parameters and of every embedding bag's table entries (mostly rows the batch touched,
// a few anywhere). Not a test file itself.

import assert from 'node:assert/strict';
import type { Batch } from '../../../src/core/batch.js';
import type { Rng } from '../../../src/core/rng.js';
import type { CtrModel } from '../../../src/models/ctr-model.js';
import { checkEntriesKinks, sampleIdx } from '../nn/grad-check.js';

/** Summed logistic loss of the model's logits on the batch (dropout seeded), as a finite-difference loss. */
export function bceSum(model: CtrModel, batch: Batch, seed: number): () => Promise<number> {
  return async () => {
    const z = await model.forward(batch, true, seed);
    let s = 0;
    for (let i = 0; i < batch.size; i++) {
      const x = z[i];
      s += Math.max(x, 0) - x * batch.labels[i] + Math.log1p(Math.exp(-Math.abs(x)));
    }
    return s;
  };
}

/** A bag as the check reads it: its table and the last backward's gradient rows. */
interface Bag {
  name: string;
  dim: number;
  table: Float32Array;
  nUnique: number;
  uniqueRows: Int32Array;
  gradRows: Float32Array;
}

/**
 * One forward/backward at `seed`, then central differences for `dense` sampled dense parameters and, per bag, `touched`
 * sampled entries of the rows the batch touched plus `anywhere` entries of the whole table (requireTouched: each bag must
 * have touched rows). Returns the failures and how many checked entries sat on a ReLU kink.
 */
export async function checkModelGradients(
  model: CtrModel,
  batch: Batch,
  rng: Rng,
  bags: readonly (Bag | null | undefined)[],
  o: { seed: number; dense: number; touched: number; anywhere: number; eps: number; requireTouched?: boolean },
): Promise<{ bad: string[]; kinks: number; checked: number }> {
  const loss = bceSum(model, batch, o.seed);
  await model.forwardBackward(batch, { scale: 1, dropoutSeed: o.seed });
  const out = { bad: [] as string[], kinks: 0, checked: 0 };
  const tally = (r: { bad: string[]; kinks: number; checked: number }): void => {
    out.bad.push(...r.bad);
    out.kinks += r.kinks;
    out.checked += r.checked;
  };
  const dense = model.params.grad.slice();
  tally(await checkEntriesKinks('dense', loss, model.params.data, (i) => dense[i], sampleIdx(rng, dense.length, o.dense), o.eps));
  for (const bag of bags) {
    if (!bag) continue;
    if (o.requireTouched === true) assert.ok(bag.nUnique > 0, `${bag.name}: rows touched`);
    const g = new Float32Array(bag.table.length);
    for (let k = 0; k < bag.nUnique; k++) for (let j = 0; j < bag.dim; j++) g[bag.uniqueRows[k] * bag.dim + j] = bag.gradRows[k * bag.dim + j];
    const touched: number[] = [];
    for (let k = 0; k < bag.nUnique; k++) touched.push(bag.uniqueRows[k] * bag.dim + rng.int(bag.dim));
    const idx = [...sampleIdx(rng, touched.length, o.touched).map((i) => touched[i]), ...sampleIdx(rng, g.length, o.anywhere)];
    tally(await checkEntriesKinks(`${bag.name}.table`, loss, bag.table, (i) => g[i], idx, o.eps));
  }
  return out;
}
