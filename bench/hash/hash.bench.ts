// `npm run bench:hash`: values/s of BatchHasher (pure-TS XXH64, one scratch buffer) against a plain per-value
// loop over xxhash-wasm's h64 in the same run, then rows/s of every indexer (BH at several settings and the
// baselines). Writes bench/results/hash.json. Medians of repeated runs, timed in process CPU time.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import xxhash from 'xxhash-wasm';
import { Rng } from '../../src/core/rng.js';
import type { IndexSpec } from '../../src/embedding/config.js';
import { createIndexer } from '../../src/embedding/registry.js';
import { BatchHasher } from '../../src/hash/xxh64.js';

const quick = process.argv.includes('--quick');
const N = quick ? 100_000 : 1_000_000;
const budgetSec = quick ? 0.3 : 1.5;

/** Median CPU seconds (user + system of this process) per call: everything here is single-threaded and synchronous, and CPU time is far steadier than wall time on a shared machine. */
function median(fn: () => void): number {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < 50 && (performance.now() - start) / 1000 < budgetSec)) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function fmt(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(2);
}

const rng = new Rng(2021);
const hex = '0123456789abcdef';
/** Criteo-style categorical values: 8 hex digits. */
const criteo = Array.from({ length: N }, () => {
  let s = '';
  for (let i = 0; i < 8; i++) s += hex[rng.int(16)];
  return s;
});
/** Mixed lengths 0–63 with some non-ASCII, to exercise every XXH64 tail path and the encoder fallback. */
const mixedChars = 'abcdefghijklmnopqrstuvwxyz0123456789 _-é中';
const mixed = Array.from({ length: N }, () => {
  let s = '';
  const len = rng.int(64);
  for (let i = 0; i < len; i++) s += mixedChars[rng.int(rng.next() < 0.98 ? 38 : mixedChars.length)];
  return s;
});

const { h64 } = await xxhash();
const hasher = new BatchHasher();
const ids = new Uint32Array(2 * N);
const big = new BigUint64Array(N);

console.log(`hashing ${N} values, field seed 7 (values/s, median)`);
const hashResults: Array<Record<string, unknown>> = [];
for (const [name, values] of [
  ['criteo 8-hex', criteo],
  ['mixed 0-63 chars', mixed],
] as const) {
  const tBatch = median(() => hasher.hashStrings(values, 7, ids));
  const tWasm = median(() => {
    for (let i = 0; i < N; i++) big[i] = h64(values[i], 7n);
  });
  // same answers, or the comparison means nothing
  for (let i = 0; i < N; i += 997) {
    if (big[i] !== ((BigInt(ids[2 * i + 1]) << 32n) | BigInt(ids[2 * i]))) throw new Error(`hash mismatch on ${JSON.stringify(values[i])}`);
  }
  const ratio = tWasm / tBatch;
  console.log(
    `  ${name.padEnd(18)} BatchHasher ${fmt(N / tBatch).padStart(8)}/s   xxhash-wasm h64 loop ${fmt(N / tWasm).padStart(8)}/s   ratio ${ratio.toFixed(2)}×`,
  );
  hashResults.push({ data: name, n: N, batchHasherPerSec: N / tBatch, xxhashWasmLoopPerSec: N / tWasm, ratio });
}

hasher.hashStrings(criteo, 7, ids);
const specs: IndexSpec[] = [
  { method: 'bh', codeBits: 64, blockBits: 8, strategy: 'succession' },
  { method: 'bh', codeBits: 64, blockBits: 8, strategy: 'skip' },
  { method: 'bh', codeBits: 64, blockBits: 16, strategy: 'succession' },
  { method: 'bh', codeBits: 64, blockBits: 16, strategy: 'skip' },
  { method: 'bh', codeBits: 32, blockBits: 4, strategy: 'skip' },
  { method: 'bh', codeBits: 64, blockBits: 1, strategy: 'succession' },
  { method: 'hash', rows: 1 << 20 },
  { method: 'qr', remainder: 1 << 12, quotient: 1 << 12 },
  { method: 'dhash', rows: 1 << 20, hashes: 2 },
];
const vocab = new Set<string>();
for (let i = 0; i < N && vocab.size < 100_000; i += 3) vocab.add(ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0'));
specs.push({ method: 'full', minCount: 1, vocab: [...vocab] });

console.log(`\nindexing ${N} hash ids (median)`);
const indexResults: Array<Record<string, unknown>> = [];
for (const spec of specs) {
  const ix = createIndexer(spec);
  const out = new Int32Array(N * ix.rowsPerValue);
  const t = median(() => ix.index(ids, N, out));
  const label = spec.method === 'bh' ? `bh S=${spec.codeBits} t=${spec.blockBits} ${spec.strategy}` : spec.method === 'full' ? `full (${vocab.size} vocab)` : JSON.stringify(spec);
  console.log(`  ${label.padEnd(52)} K=${String(ix.rowsPerValue).padStart(2)}  ${fmt(N / t).padStart(8)} values/s  ${fmt((N * ix.rowsPerValue) / t).padStart(8)} rows/s`);
  indexResults.push({ spec: spec.method === 'full' ? { method: 'full', vocabSize: vocab.size } : spec, k: ix.rowsPerValue, valuesPerSec: N / t, rowsPerSec: (N * ix.rowsPerValue) / t });
}

const c = cpus();
const record = {
  bench: 'hash',
  date: new Date().toISOString(),
  machine: { cpu: c[0]?.model ?? 'unknown', cores: c.length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` },
  config: { n: N, quick, threads: 1, seed: 7, timing: 'median process CPU time (user + system)' },
  hashing: hashResults,
  indexing: indexResults,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/hash.json', JSON.stringify(record, null, 2) + '\n');
console.log('\nwrote bench/results/hash.json');
