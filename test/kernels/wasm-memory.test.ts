// The WASM backend's memory contract: views survive growth, freed blocks come back zeroed, foreign arrays are
// refused, and a worker that attaches to the shared memory updates the very table the main thread sees.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { isBhembedError } from '../../src/core/errors.js';
import { createOps } from '../../src/kernels/index.js';
import { WasmOps, loadKernelBytes } from '../../src/kernels/wasm.js';

test('views allocated before memory growth stay valid and keep their contents', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20, maximumBytes: 256 << 20 });
  const before = ops.memory.buffer.byteLength;
  const first = ops.allocF32(1000);
  for (let i = 0; i < first.length; i++) first[i] = i;
  const big = ops.allocF32(8 << 20); // 32 MiB: forces growth
  assert.ok(ops.memory.buffer.byteLength > before, 'memory grew');
  ops.axpy(2, first, first, 1000); // the old view still reaches the kernels
  for (let i = 0; i < 1000; i++) assert.equal(first[i], 3 * i);
  big[big.length - 1] = 5;
  ops.relu(big, big, big.length);
  assert.equal(big[big.length - 1], 5);
});

test('allocation past maximumBytes throws kernel.failed', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
  assert.throws(() => ops.allocF32(2 << 20), (e: unknown) => isBhembedError(e) && e.code === 'kernel.failed');
});

test('free + alloc of the same size reuses the block, zero-filled', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20 });
  const a = ops.allocF32(100);
  a.fill(7);
  const off = a.byteOffset;
  ops.free(a);
  const b = ops.allocF32(100);
  assert.equal(b.byteOffset, off);
  assert.ok(b.every((v) => v === 0));
});

test('attach accepts the raw module bytes and shares the allocator', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20 });
  const a = ops.allocF32(8).fill(2);
  const other = WasmOps.attach({ module: await loadKernelBytes(), memory: ops.memory });
  const b = other.allocF32(8);
  assert.ok(b.byteOffset >= a.byteOffset + 64);
  other.axpy(1, a, b, 8); // a view made by the first instance, used by the second
  assert.deepEqual(Array.from(b), new Array(8).fill(2));
});

test('an array not from this memory is refused', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20 });
  const y = ops.allocF32(4);
  assert.throws(() => ops.relu(new Float32Array(4), y, 4), (e: unknown) => isBhembedError(e) && e.code === 'kernel.failed');
  const other = await WasmOps.create({ initialBytes: 1 << 20 });
  assert.throws(() => ops.relu(other.allocF32(4), y, 4), (e: unknown) => isBhembedError(e) && e.code === 'kernel.failed');
});

test('a worker attached to the shared memory trains the same table (sparseSgd) and allocates disjointly', async () => {
  const ops = await WasmOps.create({ initialBytes: 2 << 20 });
  const dim = 8;
  const table = ops.allocF32(4 * dim);
  table.fill(1);
  const grad = ops.allocF32(dim);
  grad.fill(0.5);
  const rows = ops.allocI32(1);
  rows[0] = 2;
  const url = new URL('../../src/kernels/wasm.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then(({ WasmOps }) => {
      const w = WasmOps.attach(workerData.shared);
      const mine = w.allocF32(16);
      w.sparseSgd(workerData.table, workerData.dim, workerData.rows, 1, workerData.grad, 0.1, 0);
      parentPort.postMessage({ mine: mine.byteOffset });
    }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const worker = new Worker(code, { eval: true, workerData: { shared: ops.shared, table, grad, rows, dim } });
  const msg = await new Promise<{ mine?: number; error?: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(msg.error, undefined, msg.error);
  for (let r = 0; r < 4; r++) {
    for (let j = 0; j < dim; j++) assert.equal(table[r * dim + j], r === 2 ? Math.fround(1 - 0.1 * 0.5) : 1, `row ${r}`);
  }
  // The worker's block is past everything the main thread had, and the main thread's next block is past it.
  const next = ops.allocF32(16);
  assert.ok((msg.mine as number) > rows.byteOffset);
  assert.ok(next.byteOffset > (msg.mine as number));
});

test('createOps: expectedBytes beyond wasm32 memory is refused by auto and wasm alike (no silent reference fallback)', async () => {
  for (const kind of ['auto', 'wasm'] as const) {
    await assert.rejects(createOps(kind, { expectedBytes: 5 * 2 ** 30 }), (e: unknown) => isBhembedError(e) && e.code === 'config.invalid' && /exceed wasm32 memory/.test(e.message));
  }
  assert.equal((await createOps('auto', { expectedBytes: 1 << 20, initialBytes: 1 << 20 })).name, 'wasm');
  assert.equal((await createOps('reference', { expectedBytes: 5 * 2 ** 30 })).name, 'reference');
});
