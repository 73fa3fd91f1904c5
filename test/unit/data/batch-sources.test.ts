// The batch sources behind the one seam: every row of a pass exactly once, in order or shuffled; state() and
// restore() continue a pass exactly where it stopped; the stream's shuffle keeps memory bounded and mixes rows
// across chunks; shards split a pass; plain JS rows hash like the file readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchBufferOf, type Columns } from '../../../src/data/batches/columns.js';
import { MemorySource, columnsFromRows } from '../../../src/data/batches/memory.js';
import { ShardedSource } from '../../../src/data/batches/sharded.js';
import type { BatchSource } from '../../../src/data/batches/source.js';
import { StreamSource } from '../../../src/data/batches/stream.js';
import { Rng } from '../../../src/core/rng.js';
import { loadDataset } from '../../../src/data/dataset.js';
import { tempDir } from '../../temp-dir.js';

/** n rows; row r has label r % 2, a single-valued id r and a multi-valued field of r % 3 values (r, r+1, …), weight r. */
function rowsColumns(n: number, from = 0): Columns {
  const single = new Uint32Array(2 * n);
  const offsets = new Int32Array(n + 1);
  const multi: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = from + i;
    single[2 * i] = r;
    for (let k = 0; k < r % 3; k++) {
      multi.push(r + k);
      weights.push(r);
    }
    offsets[i + 1] = multi.length;
  }
  const ids = new Uint32Array(2 * multi.length);
  multi.forEach((v, i) => (ids[2 * i] = v));
  return {
    rows: n,
    labels: Float32Array.from({ length: n }, (_, i) => (from + i) % 2),
    fields: [{ ids: single }, { ids, offsets, weights: Float32Array.from(weights) }],
    numDense: 0,
  };
}

/** Rows of one pass by their single id, checking each row's other columns against its id. */
async function pass(src: BatchSource, batch = 7): Promise<number[]> {
  const buf = batchBufferOf(src.shape, batch);
  const out: number[] = [];
  for (let n = await src.next(buf); n > 0; n = await src.next(buf)) {
    const o = buf.fields[1].offsets as Int32Array;
    for (let i = 0; i < n; i++) {
      const r = buf.fields[0].ids[2 * i];
      assert.equal(buf.labels[i], r % 2);
      assert.equal(o[i + 1] - o[i], r % 3, `row ${r}: values`);
      for (let k = o[i]; k < o[i + 1]; k++) {
        assert.equal(buf.fields[1].ids[2 * k], r + k - o[i]);
        assert.equal((buf.fields[1].weights as Float32Array)[k], r);
      }
      out.push(r);
    }
  }
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

/** A stream of the rows 0..n-1 in chunks of `chunk` rows. */
function stream(n: number, chunk: number, shuffleBuffer: number, seed = 1, onChunk?: () => void): StreamSource {
  const cols = rowsColumns(1);
  return new StreamSource({
    shape: { fields: [{ multiValued: false, weighted: false }, { multiValued: true, weighted: true }], numDense: 0 },
    shuffleBuffer,
    seed,
    pass: async function* () {
      for (let s = 0; s < n; s += chunk) {
        onChunk?.();
        yield rowsColumns(Math.min(chunk, n - s), s);
      }
    },
  });
  void cols;
}

test('MemorySource: in order, then shuffled differently each pass, every row once per pass', async () => {
  const src = new MemorySource(rowsColumns(50));
  assert.deepEqual(await pass(src), range(50));
  assert.deepEqual(await pass(src), range(50), 'in order again on the next pass');
  const sh = new MemorySource(rowsColumns(50), { shuffle: true, seed: 3 });
  const a = await pass(sh);
  const b = await pass(sh);
  assert.deepEqual(sorted(a), range(50));
  assert.deepEqual(sorted(b), range(50));
  assert.notDeepEqual(a, range(50));
  assert.notDeepEqual(a, b);
});

test('MemorySource: restore(state) continues the same pass at the same row, also in a later epoch', async () => {
  const ref = new MemorySource(rowsColumns(40), { shuffle: true, seed: 9 });
  const all = [...(await pass(ref, 5)), ...(await pass(ref, 5))];
  for (const stop of [0, 15, 40, 55]) {
    const src = new MemorySource(rowsColumns(40), { shuffle: true, seed: 9 });
    const buf = batchBufferOf(src.shape, 5);
    let seen = 0;
    while (seen < stop) {
      const n = await src.next(buf);
      if (n === 0) continue; // the end of pass 1
      seen += n;
    }
    const state = JSON.parse(JSON.stringify(src.state()));
    const again = new MemorySource(rowsColumns(40), { shuffle: true, seed: 9 });
    await again.restore(state);
    const rest = [...(await pass(again, 5))];
    if (stop <= 40) rest.push(...(await pass(again, 5)));
    assert.deepEqual(rest, all.slice(stop), `stopped after ${stop} rows`);
  }
  await assert.rejects(new MemorySource(rowsColumns(40), { seed: 2 }).restore(ref.state()), /cannot restore/);
});

test('StreamSource in order: contiguous batches across chunk borders', async () => {
  const src = stream(103, 10, 0);
  assert.deepEqual(await pass(src, 7), range(103));
  assert.equal(src.rowsPerPass, 103);
  assert.deepEqual(await pass(src, 64), range(103), 'the next pass reads the stream again');
});

test('StreamSource shuffled: every row once, mixed across chunks, bounded memory, reproducible by seed', async () => {
  let chunks = 0;
  const src = stream(5000, 100, 500, 4, () => chunks++);
  const buf = batchBufferOf(src.shape, 50);
  const first = await src.next(buf);
  assert.equal(first, 50);
  // Before the first batch it read only enough chunks to fill the buffer (500 rows + one batch), not the stream.
  assert.ok(chunks <= 7, `${chunks} chunks read before the first batch`);
  const firstIds = Array.from({ length: 50 }, (_, i) => buf.fields[0].ids[2 * i]);
  assert.ok(Math.max(...firstIds) >= 300, 'the first batch draws from the whole buffer, not only the first chunk');
  const a = [...firstIds, ...(await pass(src, 50))];
  assert.deepEqual(sorted(a), range(5000));
  // A row moves at most about one buffer from its place in the stream.
  const late = a.findIndex((r) => r === 4999);
  assert.ok(late > 5000 - 700, `row 4999 came out at ${late}`);
  const b = await pass(stream(5000, 100, 500, 4), 50);
  assert.deepEqual(b, a, 'same seed, same order');
  const c = await pass(stream(5000, 100, 500, 5), 50);
  assert.notDeepEqual(c, a);
});

test('StreamSource shuffled: the row buffer carries every column of each row (dense, weighted single values, chunks with and without weights), through compaction of multi-valued values, whatever the batch size', async () => {
  // Row r: label r % 2, field 0 = id r with weight r + 0.5 (chunks at odd offsets carry no weights: weight 1),
  // field 1 = r % 3 values, dense = [r, -r].
  const N = 200_000;
  const mk = (): StreamSource => {
    const src = new StreamSource({
      shape: { fields: [{ multiValued: false, weighted: true }, { multiValued: true, weighted: true }], numDense: 2 },
      shuffleBuffer: 50_000,
      seed: 11,
      pass: async function* () {
        for (let s = 0; s < N; s += 1000) {
          const c = rowsColumns(1000, s);
          const weighted = (s / 1000) % 2 === 0;
          c.fields[0].weights = weighted ? Float32Array.from({ length: 1000 }, (_, i) => s + i + 0.5) : null;
          c.numDense = 2;
          c.dense = Float32Array.from({ length: 2000 }, (_, k) => (k % 2 === 0 ? 1 : -1) * (s + (k >> 1)));
          yield c;
        }
      },
    });
    return src;
  };
  const ids = async (src: StreamSource, batch: number): Promise<number[]> => {
    const buf = batchBufferOf(src.shape, batch);
    const out: number[] = [];
    for (let n = await src.next(buf); n > 0; n = await src.next(buf)) {
      for (let i = 0; i < n; i++) {
        const r = buf.fields[0].ids[2 * i];
        const w = (buf.fields[0].weights as Float32Array)[i];
        assert.equal(w, Math.floor(r / 1000) % 2 === 0 ? r + 0.5 : 1, `row ${r}: weight`);
        assert.equal(buf.labels[i], r % 2);
        assert.deepEqual([(buf.dense as Float32Array)[2 * i], (buf.dense as Float32Array)[2 * i + 1]], [r, -r], `row ${r}: dense`);
        const o = buf.fields[1].offsets as Int32Array;
        assert.equal(o[i + 1] - o[i], r % 3);
        for (let k = o[i]; k < o[i + 1]; k++) assert.equal(buf.fields[1].ids[2 * k], r + k - o[i]);
      }
      for (let i = 0; i < n; i++) out.push(buf.fields[0].ids[2 * i]);
    }
    return out;
  };
  const src = mk();
  const a = await ids(src, 1024);
  const store = (src as unknown as { store: { compactions: number } }).store;
  assert.ok(store.compactions > 0, 'the multi-valued values were compacted in the buffer');
  assert.deepEqual(sorted(a), range(N));
  assert.deepEqual(await ids(mk(), 77), a, 'the order does not depend on the batch size');
});

test('StreamSource: restore(state) replays the pass to the same position (bit-identical continuation)', async () => {
  const ref = await pass(stream(900, 64, 200, 7), 16);
  const src = stream(900, 64, 200, 7);
  const buf = batchBufferOf(src.shape, 16);
  for (let i = 0; i < 20; i++) await src.next(buf);
  const state = JSON.parse(JSON.stringify(src.state()));
  assert.equal(state.rows, 320);
  const again = stream(900, 64, 200, 7);
  await again.restore(state);
  assert.deepEqual(await pass(again, 16), ref.slice(320));
  await assert.rejects(stream(900, 64, 100, 7).restore(state), /cannot restore/);
});

test('StreamSource: a large buffer warms up (the first batch after ~16k rows read, not a whole buffer) and restores bit for bit during and after the warm-up', async () => {
  let chunks = 0;
  const src = stream(60_000, 500, 40_000, 3, () => chunks++);
  const buf = batchBufferOf(src.shape, 100);
  assert.equal(await src.next(buf), 100);
  assert.ok(chunks >= 33 && chunks <= 35, `${chunks} chunks of 500 rows read before the first batch (16,384 rows + one chunk)`);
  const ref = await pass(stream(60_000, 500, 40_000, 3), 64);
  assert.deepEqual(sorted(ref), range(60_000));
  for (const stop of [6_400, 32_000, 57_600]) {
    const a = stream(60_000, 500, 40_000, 3);
    const b1 = batchBufferOf(a.shape, 64);
    for (let seen = 0; seen < stop; ) seen += await a.next(b1);
    const again = stream(60_000, 500, 40_000, 3);
    await again.restore(JSON.parse(JSON.stringify(a.state())));
    assert.deepEqual(await pass(again, 300), ref.slice(stop), `restored at row ${stop}`);
  }
});

/** The shuffle rule row by row (the spec StreamSource runs in blocks): rows join until T = min(R, 16384 + drawn) wait, then one is drawn uniformly (swap-remove). */
function referenceOrder(n: number, R: number, seed: number, epoch = 0): number[] {
  if (R <= 1) return range(n);
  const rng = new Rng((Math.imul(seed, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) | 0);
  const waiting: number[] = [];
  const out: number[] = [];
  let next = 0;
  while (out.length < n) {
    const t = Math.min(R, 16_384 + out.length);
    while (waiting.length < t && next < n) waiting.push(next++);
    const j = rng.int(waiting.length);
    out.push(waiting[j]);
    waiting[j] = waiting[waiting.length - 1];
    waiting.pop();
  }
  return out;
}

test('StreamSource shuffled: rows join the buffer one by one, so a buffer smaller than a chunk works (the order of the rule row by row, whatever the chunk and batch sizes)', async () => {
  for (const [R, chunk] of [[1, 100], [50, 1000], [300, 64], [2500, 700], [20_000, 1000]]) {
    const want = referenceOrder(3000, R, 6);
    for (const batch of [13, 256]) assert.deepEqual(await pass(stream(3000, chunk, R, 6), batch), want, `buffer ${R}, chunks of ${chunk}, batches of ${batch}`);
  }
  // A row never comes out more than R - 1 places before its place in the stream (at most R rows have joined).
  const small = await pass(stream(5000, 1000, 50, 2), 64);
  const early = Math.max(...small.map((r, i) => r - i));
  assert.ok(early <= 49, `a row came out ${early} places early with a buffer of 50 rows`);
  assert.notDeepEqual(small, range(5000));
  // The second pass draws with the next pass's generator.
  const src = stream(800, 100, 200, 4);
  await pass(src, 32);
  assert.deepEqual(await pass(src, 32), referenceOrder(800, 200, 4, 1));
});

test('StreamSource: a position written under the earlier shuffle rule (whole chunks joined) is refused, not replayed with other rows', async () => {
  const src = stream(900, 64, 200, 7);
  const buf = batchBufferOf(src.shape, 16);
  await src.next(buf);
  const state = src.state();
  assert.equal(state.shuffle, 'row-by-row');
  const { shuffle: _, ...old } = state;
  await assert.rejects(stream(900, 64, 200, 7).restore(old), /written by an earlier bhembed whose shuffle buffer drew rows in another order/);
  await stream(900, 64, 200, 7).restore(state);
});

test('ShardedSource: n shards of one pass are disjoint and together the whole pass', async () => {
  const parts = await Promise.all([0, 1, 2].map((k) => pass(new ShardedSource(new MemorySource(rowsColumns(100), { shuffle: true, seed: 5 }), k, 3), 8)));
  assert.deepEqual(sorted(parts.flat()), range(100));
  assert.ok(parts.every((p) => p.length >= 32), parts.map((p) => p.length).join(' '));
});

test('columnsFromRows: plain JS rows get the ids a file reader gives the same values', async () => {
  const dir = tempDir('rows-');
  const path = join(dir, 'd.ffm');
  writeFileSync(path, '1 0:a:1 1:x:2 1:y:0.5\n0 0:b:1 1:z:1\n');
  const fromFile = await loadDataset('libffm', path);
  const cols = columnsFromRows(
    [
      { label: 1, values: [['a'], ['x', 'y']], weights: [null, [2, 0.5]] },
      { label: 0, values: [['b'], ['z']] },
    ],
    { multiValued: [true, true], weighted: [true, true] },
  );
  assert.deepEqual([...cols.labels], [...fromFile.labels]);
  for (let f = 0; f < 2; f++) {
    assert.deepEqual([...cols.fields[f].ids], [...fromFile.fields[f].ids], `field ${f} ids`);
    assert.deepEqual([...(cols.fields[f].offsets as Int32Array)], [...(fromFile.fields[f].offsets as Uint32Array)]);
    assert.deepEqual([...(cols.fields[f].weights as Float32Array)], [...(fromFile.fields[f].weights as Float32Array)], `field ${f} weights`);
  }
  assert.throws(() => columnsFromRows([{ label: 2, values: ['a'] }]), /label: must be in \[0, 1\]/);
});
