// The WASM embedding bag's register path for rows of ≤ 16 floats (every dim % 4 tail: 1, 2, 3 floats) against
// the reference backend, with duplicates, empty segments, weights and mean pooling; rows at the very end of the
// table so a tail read past the row would show up as garbage.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { createOps } from '../../../src/kernels/index.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, n: number, label: string): void {
  for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 + 1e-5 * Math.abs(b[i]), `${label}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('embedding bag forward/backward, dims 1..17, match the reference', async () => {
  const ops = await createOps('wasm');
  const ref = new ReferenceOps();
  const rng = new Rng(9);
  for (let dim = 1; dim <= 17; dim++) {
    for (const mean of [false, true]) {
      for (const weighted of [false, true]) {
        const numRows = 20;
        const nSeg = 30;
        const offsets = [0];
        const rows: number[] = [];
        for (let s = 0; s < nSeg; s++) {
          const len = s % 7 === 3 ? 0 : 1 + rng.int(5);
          // Often the last table row: its tail ends the allocation.
          for (let i = 0; i < len; i++) rows.push(rng.next() < 0.3 ? numRows - 1 : rng.int(numRows));
          offsets.push(rows.length);
        }
        const mk = (n: number, f: () => number): [Float32Array, Float32Array] => {
          const t = ops.allocF32(n);
          for (let i = 0; i < n; i++) t[i] = f();
          return [t, Float32Array.from(t)];
        };
        const mki = (v: number[]): [Int32Array, Int32Array] => {
          const t = ops.allocI32(v.length);
          t.set(v);
          return [t, Int32Array.from(v)];
        };
        // The table is followed by NaNs: reading past a row's end would poison the sums.
        const [tableBig] = mk(numRows * dim + 8, () => NaN);
        for (let i = 0; i < numRows * dim; i++) tableBig[i] = rng.normal();
        const table = tableBig.subarray(0, numRows * dim);
        const tableR = Float32Array.from(table);
        const [off, offR] = mki(offsets);
        const [rw, rwR] = mki(rows);
        const [w, wR] = mk(Math.max(1, rows.length), () => 0.5 + rng.next());
        const label = `dim ${dim} mean ${mean} weighted ${weighted}`;
        const [out, outR] = mk(nSeg * dim + 4, () => NaN);
        ops.embeddingBagForward(table, dim, rw, off, nSeg, weighted ? w : null, mean, out);
        ref.embeddingBagForward(tableR, dim, rwR, offR, nSeg, weighted ? wR : null, mean, outR);
        close(out, outR, nSeg * dim, `forward ${label}`);
        for (let i = nSeg * dim; i < out.length; i++) assert.ok(Number.isNaN(out[i]), `forward ${label}: wrote past the output`);
        const [dOut, dOutR] = mk(nSeg * dim, () => rng.normal());
        const [slot, slotR] = mki(new Array<number>(numRows).fill(-1));
        const [uniq, uniqR] = mki(new Array<number>(numRows).fill(0));
        const [grad, gradR] = mk(numRows * dim + 4, () => NaN);
        const u = ops.embeddingBagBackward(dOut, dim, rw, off, nSeg, weighted ? w : null, mean, slot, uniq, grad);
        const uR = ref.embeddingBagBackward(dOutR, dim, rwR, offR, nSeg, weighted ? wR : null, mean, slotR, uniqR, gradR);
        assert.equal(u, uR, label);
        assert.deepEqual(Array.from(uniq.subarray(0, u)), Array.from(uniqR.subarray(0, u)), label);
        close(grad, gradR, u * dim, `backward ${label}`);
        for (let i = u * dim; i < u * dim + 4; i++) assert.ok(Number.isNaN(grad[i]), `backward ${label}: wrote past the last row`);
        assert.ok(slot.every((v) => v === -1), `${label}: slot restored`);
        for (const a of [tableBig, off, rw, w, out, dOut, slot, uniq, grad]) ops.free(a);
      }
    }
  }
});
