// copyRows (kernels/external-table.ts): gathering rows of 1-3 big arrays into compact ones and scattering them back
// moves exactly the listed rows, bit for bit, on the float64-pair path (even dim, 8-byte aligned) and the float32 one
// (odd dim, or a view 4 bytes off alignment), and touches nothing else. WasmOps.holds (how a worker tells an
// attached outside table from one in WASM memory) answers right and never writes into an outside table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyRows } from '../../../src/kernels/external-table.js';
import { WasmOps } from '../../../src/kernels/wasm.js';

const ROWS = 50;
const pick = Int32Array.from([7, 0, 49, 13, 8, 31]);

function filled(n: number, seed: number, offset = 0): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(4 * (n + offset)), 4 * offset, n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(Math.sin(seed * 1000 + i) * 1e3) / 7;
  return a;
}

for (const dim of [1, 3, 8]) {
  for (const k of [1, 2, 3]) {
    for (const offset of [0, 1]) {
      test(`copyRows: dim ${dim}, ${k} array(s), big arrays ${offset === 0 ? 'aligned' : '4 bytes off'}: gather then scatter moves exactly the listed rows`, () => {
        const big = Array.from({ length: k }, (_, a) => filled(ROWS * dim, a + 1, offset));
        const before = big.map((a) => a.slice());
        const compact = Array.from({ length: k }, () => new Float32Array(pick.length * dim));
        copyRows(big, compact, dim, pick, pick.length, true);
        for (let a = 0; a < k; a++) for (let c = 0; c < pick.length; c++) assert.deepEqual(compact[a].subarray(c * dim, (c + 1) * dim), before[a].subarray(pick[c] * dim, (pick[c] + 1) * dim));
        // Scatter changed values back: only the listed rows change, to exactly those values.
        for (const c of compact) for (let i = 0; i < c.length; i++) c[i] = -c[i] - 0.5;
        copyRows(big, compact, dim, pick, pick.length, false);
        for (let a = 0; a < k; a++) {
          for (let r = 0; r < ROWS; r++) {
            const c = pick.indexOf(r);
            const want = c < 0 ? before[a].subarray(r * dim, (r + 1) * dim) : compact[a].subarray(c * dim, (c + 1) * dim);
            assert.deepEqual(big[a].subarray(r * dim, (r + 1) * dim), want, `array ${a} row ${r}`);
          }
        }
      });
    }
  }
}

test('WasmOps.holds tells its own arrays (also through another instance on the same memory) from an outside table, and leaves the outside table untouched', async () => {
  const ops = await WasmOps.create({ initialBytes: 16 << 20 });
  const own = ops.allocF32(16);
  // Past the canary word's offset, zeroed and filled: holds() must not write into it.
  for (const fill of [0, 0.25]) {
    const outside = new Float32Array(new SharedArrayBuffer(4 << 20)).fill(fill);
    assert.equal(ops.holds(outside), false);
    assert.ok(outside.every((v) => v === fill));
  }
  assert.equal(ops.holds(own), true);
  const other = WasmOps.attach(ops.shared);
  assert.equal(other.holds(new Float32Array(ops.memory.buffer, own.byteOffset, 16)), true);
  assert.equal(other.holds(new Float32Array(new SharedArrayBuffer(4 << 20))), false);
});
