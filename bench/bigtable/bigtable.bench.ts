// Tables beyond 4 GiB (issue 10, item 4): a full embedding over the whole Criteo Kaggle vocabulary (the generator's
// CRITEO_KAGGLE_CARDINALITIES: 33,762,577 values + each field's missing value + one OOV row per field, dim 16, lazy
// Adam: 2.2 GB of table + 4.3 GB of optimizer state) trains on the WASM backend (the state in row shards of their
// own memories, kernels/row-state.ts) against the full run on 1M rows (vocabulary from those rows, ~1.1M rows, all
// in one memory), measured in the same process, interleaved: round i trains the 1M-row model on the next 250k of
// its 1M rows (cycling), then the Kaggle-size model on the i-th 250k of the N generated rows (it sees each once).
// Both: DNN, dim 16, the CLI's default MLP 256-128, batch 4096, lazy Adam, 1 thread.
// Data: src/data/generate.ts into a temp folder, loaded in memory (the streaming loader is separate work: rows
// are limited by memory, --rows). Prints samples/s per round, the medians and their ratio (target ≥ 0.8).
// --dim 32: the Kaggle-size table itself (4.0 GiB) no longer fits in wasm32 memory: it and its Adam state live
// outside it (kernels/external-table.ts, each step copies its rows in and out).
// --forced: only the 1M-row full model, twice on the same rows, interleaved: its table in the WASM memory and
// forced outside it (heapTableBytes 0); the two end bit-identical (checked), the ratio is the copying's cost.
// Run: npm run bench:bigtable [-- --rows N] [--quick] [--dim D] [--threads T] [--forced [--rounds R]]. Writes
// bench/results/bigtable.json (--forced: bigtable-forced.json). Shared machine: noisy; prints the load average.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRITEO_KAGGLE_CARDINALITIES, CriteoTeacher, generateCriteo } from '../../src/data/generate.js';
import type { IndexSpec } from '../../src/embedding/config.js';
import { FullVocabBuilder } from '../../src/embedding/full.js';
import { xxh64Bytes } from '../../src/hash/xxh64.js';
import { WasmOps } from '../../src/kernels/wasm.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Columns as Dataset } from '../../src/data/batches/columns.js';
import { loadRunData } from '../../src/experiment/pipeline.js';
import { Trainer } from '../../src/train/trainer.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const forced = args.includes('--forced');
const arg = (k: string, d: number): number => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : d);
const SMALL = 1_000_000;
const CHUNK = 250_000;
const ROWS = arg('--rows', forced ? SMALL + CHUNK : quick ? 1_500_000 : 4_000_000);
const DIM = arg('--dim', 16);
const FORCED_ROUNDS = arg('--rounds', 8);
// --hashed N: the big model is a hashed embedding of N rows in all (split over the fields by their Kaggle
// cardinality, capped at it) instead of the full Kaggle vocabulary: no 33.8M-entry vocabulary to build (minutes).
const HASHED = arg('--hashed', 0);
// --threads N: training threads of every model (merged sparse updates: the forced leg's weights stay bit-identical).
const THREADS = arg('--threads', 1);
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const MLP = [256, 128];
const BATCH = 4096;
const SEED = 1;
if (!(Number.isInteger(ROWS) && ROWS >= SMALL + CHUNK)) throw new Error(`--rows must be an integer ≥ ${SMALL + CHUNK}, got ${ROWS}`);

const dir = mkdtempSync(join(tmpdir(), 'bhembed-bigtable-'));
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
try {
  const file = join(dir, 'train.tsv');
  log(`generating ${ROWS} Criteo-shaped rows (Criteo Kaggle cardinalities) into ${dir}`);
  const gen = await generateCriteo({ rows: ROWS, out: file, probOut: null, seed: SEED, teacherSeed: SEED });
  log(`generated in ${gen.seconds.toFixed(0)} s; loading (dense integers, 26 categorical fields)`);
  const data = await loadRunData({ format: 'criteo', train: file, numeric: 'dense', dataMode: 'memory' });
  rmSync(file);
  const ds = data.train.columns as NonNullable<typeof data.train.columns>;
  const all: Dataset = { rows: ds.rows, labels: ds.labels, fields: ds.fields.map((c) => ({ ids: c.ids })), numDense: ds.numDense, dense: ds.dense ?? null };
  const slice = (lo: number, hi: number): Dataset => ({
    rows: hi - lo,
    labels: all.labels.subarray(lo, hi),
    fields: all.fields.map((c) => ({ ids: c.ids.subarray(2 * lo, 2 * hi) })),
    numDense: all.numDense,
    dense: (all.dense as Float32Array).subarray(lo * 13, hi * 13),
  });
  log(`loaded ${ds.rows} rows in ${data.loadSeconds.toFixed(0)} s`);
  if (forced) {
    await forcedLeg(slice(0, SMALL));
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }

  // The 1M-row run's full vocabulary: every value of its rows (minCount 1), as the pipeline's 'full' plans it.
  const small = slice(0, SMALL);
  log('building vocabularies: the 1M-row run\'s from its rows, the Kaggle-size one from the generator\'s tokens');
  const smallSpecs: IndexSpec[] = small.fields.map((c) => {
    const b = new FullVocabBuilder(1024);
    b.add(c.ids, SMALL);
    return b.build(1);
  });
  // The Kaggle-size vocabulary: every token the generator can write for each field (ranks 1..card) and the
  // missing value, hashed as the Criteo reader hashes them (xxh64, seed = field index).
  const teacher = new CriteoTeacher({ seed: SEED, cardinalities: CRITEO_KAGGLE_CARDINALITIES, zipfExponent: 1.1, missingRate: 0.05, intMissingRate: 0.2, pairs: 4, ctr: 0.25, signal: 1 });
  const id = new Uint32Array(2);
  const bytes = new Uint8Array(64);
  const hex = (f: number, token: string): string => {
    for (let i = 0; i < token.length; i++) bytes[i] = token.charCodeAt(i);
    xxh64Bytes(bytes, 0, token.length, f, id, 0);
    return id[1].toString(16).padStart(8, '0') + id[0].toString(16).padStart(8, '0');
  };
  const cardSum = CRITEO_KAGGLE_CARDINALITIES.reduce((a, c) => a + c, 0);
  const bigSpecs: IndexSpec[] = CRITEO_KAGGLE_CARDINALITIES.map((card, f) => {
    if (HASHED > 0) return { method: 'hash', rows: Math.max(2, Math.min(card + 2, Math.round((HASHED * card) / cardSum))) };
    const vocab = new Array<string>(card + 1);
    vocab[0] = hex(f, '');
    for (let k = 1; k <= card; k++) vocab[k] = hex(f, teacher.token(f, k));
    return { method: 'full', minCount: 1, vocab };
  });
  const rowsOf = (specs: IndexSpec[]): number => specs.reduce((a, s) => a + (s.method === 'full' ? s.vocab.length + 1 : s.method === 'hash' ? s.rows : 0), 0);
  const bigName = HASHED > 0 ? 'Kaggle-shaped hashed' : 'Kaggle-size full';
  const config = (specs: IndexSpec[]): ModelConfig => ({ arch: 'dnn', dim: DIM, mlp: MLP, numDense: 13, seed: SEED, fields: specs.map((index, f) => ({ name: `C${f + 1}`, index })) });
  const opts = { batchSize: BATCH, epochs: 1, seed: SEED, earlyStopping: false as const, engine: 'wasm' as const, threads: THREADS, optim: { lr: 1e-3, embeddingOptimizer: 'adam' as const } };
  log(`vocabularies ready; building models: 1M-row full (${rowsOf(smallSpecs)} rows) and ${bigName} (${rowsOf(bigSpecs)} rows × dim ${DIM})`);
  const smallTr = await Trainer.create(config(smallSpecs), { ...opts, ops: await WasmOps.create() });
  const bigTr = await Trainer.create(config(bigSpecs), { ...opts, ops: await WasmOps.create() });
  log(`models built (load average ${load()}); checking that every training value has its own row in the Kaggle-size table`);
  bigSpecs.length = 0;

  // Every training id of the big run has its own row (the vocabulary matches the reader's hashing): no OOV rows.
  const probe = new Int32Array(1 << 16);
  let oov = 0;
  for (let f = 0; f < (HASHED > 0 ? 0 : 26); f++) {
    const ix = bigTr.model.layout.fields[f].indexer;
    for (let lo = 0; lo < all.rows; lo += probe.length) {
      const n = Math.min(probe.length, all.rows - lo);
      ix.index(all.fields[f].ids.subarray(2 * lo, 2 * (lo + n)), n, probe, 0);
      for (let i = 0; i < n; i++) if (probe[i] === 0) oov++;
    }
  }
  if (oov > 0) throw new Error(`${oov} training values map to the OOV row of the Kaggle vocabulary: the vocabulary does not match the reader's hashing`);

  const rounds = Math.floor(ROWS / CHUNK);
  log(`training: ${rounds} interleaved rounds of ${CHUNK} rows per model`);
  const table: Array<Array<string | number>> = [];
  const smallSps: number[] = [];
  const bigSps: number[] = [];
  let bigRows = 0;
  let bigSeconds = 0;
  for (let r = 0; r < rounds; r++) {
    const s0 = (r * CHUNK) % SMALL;
    const a = await smallTr.fit(slice(s0, Math.min(SMALL, s0 + CHUNK)));
    const b = await bigTr.fit(slice(r * CHUNK, (r + 1) * CHUNK));
    smallSps.push(Math.min(CHUNK, SMALL - s0) / a.seconds);
    bigSps.push(CHUNK / b.seconds);
    bigRows += CHUNK;
    bigSeconds += b.seconds;
    table.push([`round ${r + 1}`, smallSps[r], bigSps[r], bigSps[r] / smallSps[r]]);
    log(`round ${r + 1}/${rounds}: 1M-row full ${smallSps[r].toFixed(0)} samples/s, ${bigName} ${bigSps[r].toFixed(0)} samples/s; load ${load()}`);
  }
  const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
  const bigState = bigTr.model.sharedState().sparseState.emb.rows;
  const smallState = smallTr.model.sharedState().sparseState.emb.rows;
  const bigTableBytes = bigTr.model.emb?.table.byteLength ?? 0;
  const smallTableBytes = smallTr.model.emb?.table.byteLength ?? 0;
  const bigOutside = bigTr.model.emb?.external === true;
  if (bigTr.model.ops.name !== 'wasm' || (bigState === undefined && !bigOutside)) throw new Error('the Kaggle-size model did not train on the WASM backend with sharded optimizer state or an outside table');
  table.push(['median', med(smallSps), med(bigSps), med(bigSps) / med(smallSps)]);
  console.log('');
  printTable(['', '1M-row full samples/s', `${bigName} samples/s`, 'ratio'], table);
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  console.log(`\n1M-row full: ${rowsOf(smallSpecs)} rows, table ${gib(smallTableBytes)} + Adam state ${gib(2 * smallTableBytes)} in one memory (state sharded: ${smallState !== undefined})`);
  const where = bigState !== undefined ? `the table in WASM memory, the state in ${bigState.shards.length} shards of ≤ ${bigState.rowsPerShard} rows` : 'table and state outside WASM memory (external-table.ts)';
  console.log(`${bigName}: ${bigTr.model.layout.totalRows} rows × dim ${DIM}, table ${gib(bigTableBytes)} + Adam state ${gib(2 * bigTableBytes)}, ${where}; ${bigRows} rows seen, ${(bigRows / bigSeconds).toFixed(0)} samples/s overall; load average ${load()}`);
  console.log(`ratio of medians ${(med(bigSps) / med(smallSps)).toFixed(3)} (target ≥ 0.8); median of per-round ratios ${med(bigSps.map((b, i) => b / smallSps[i])).toFixed(3)}`);
  console.log(`Rows are limited by the in-memory loader (${ROWS} here); the 45M-row run needs the streaming work (issue 10 item 1). Shared machine: noisy.`);
  writeJson('bench/results/bigtable.json', {
    machine: machine(),
    config: { rows: ROWS, small: SMALL, chunk: CHUNK, dim: DIM, mlp: MLP, batch: BATCH, optimizer: 'adam', arch: 'dnn', threads: THREADS },
    loadAverage: loadavg(),
    small: { rows: rowsOf(smallSpecs), tableBytes: smallTableBytes, samplesPerSecond: smallSps },
    big: { rows: bigTr.model.layout.totalRows, tableBytes: bigTableBytes, stateShards: bigState?.shards.length ?? 0, outside: bigOutside, samplesPerSecond: bigSps },
    ratio: med(bigSps) / med(smallSps),
    generator: { seconds: gen.seconds, bayesAuc: gen.bayesAuc },
  });
  await smallTr.dispose();
  await bigTr.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The 1M-row full model with its table in the WASM memory and forced outside it, on the same chunks in the same
// order (alternating which goes first), so both end with the same weights; the ratio is what the copies cost.
async function forcedLeg(rows: Dataset): Promise<void> {
  const specs: IndexSpec[] = rows.fields.map((c) => {
    const b = new FullVocabBuilder(1024);
    b.add(c.ids, rows.rows);
    return b.build(1);
  });
  const config: ModelConfig = { arch: 'dnn', dim: DIM, mlp: MLP, numDense: 13, seed: SEED, fields: specs.map((index, f) => ({ name: `C${f + 1}`, index })) };
  const opts = { batchSize: BATCH, epochs: 1, seed: SEED, earlyStopping: false as const, engine: 'wasm' as const, threads: THREADS, optim: { lr: 1e-3, embeddingOptimizer: 'adam' as const } };
  const inside = await Trainer.create(config, { ...opts, ops: await WasmOps.create() });
  const outside = await Trainer.create(config, { ...opts, ops: await WasmOps.create({ heapTableBytes: 0 }) });
  if (inside.model.emb?.external !== false || outside.model.emb?.external !== true) throw new Error('the forced leg did not put exactly one table outside WASM memory');
  log(`forced leg: ${inside.model.layout.totalRows} rows × dim ${DIM} (${((inside.model.emb?.table.byteLength ?? 0) / 2 ** 20).toFixed(0)} MiB), ${FORCED_ROUNDS} rounds of ${CHUNK} rows, ${THREADS} thread(s); load average ${load()}`);
  const table: Array<Array<string | number>> = [];
  const inSps: number[] = [];
  const outSps: number[] = [];
  const loads: number[] = [];
  for (let r = 0; r < FORCED_ROUNDS; r++) {
    const lo = (r * CHUNK) % SMALL;
    const chunk = { ...rows, rows: CHUNK, labels: rows.labels.subarray(lo, lo + CHUNK), fields: rows.fields.map((c) => ({ ids: c.ids.subarray(2 * lo, 2 * (lo + CHUNK)) })), dense: (rows.dense as Float32Array).subarray(lo * 13, (lo + CHUNK) * 13) };
    const order = r % 2 === 0 ? [inside, outside] : [outside, inside];
    const secs = new Map<Trainer, number>();
    for (const tr of order) secs.set(tr, (await tr.fit(chunk)).seconds);
    inSps.push(CHUNK / (secs.get(inside) as number));
    outSps.push(CHUNK / (secs.get(outside) as number));
    loads.push(loadavg()[0]);
    table.push([`round ${r + 1}`, inSps[r], outSps[r], outSps[r] / inSps[r], loads[r]]);
    log(`round ${r + 1}/${FORCED_ROUNDS}: in WASM memory ${inSps[r].toFixed(0)} samples/s, outside ${outSps[r].toFixed(0)} samples/s; load ${load()}`);
  }
  const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
  const a = inside.model.parameters();
  const b = outside.model.parameters();
  const identical = a.length === b.length && a.every((p, i) => p.data.length === b[i].data.length && p.data.every((v, j) => Object.is(v, b[i].data[j])));
  table.push(['median', med(inSps), med(outSps), med(outSps) / med(inSps), med(loads)]);
  console.log('');
  printTable(['', 'table in WASM memory samples/s', 'table outside samples/s', 'ratio', 'load (1 min)'], table);
  console.log(`\nratio of medians ${(med(outSps) / med(inSps)).toFixed(3)}; median of per-round ratios ${med(outSps.map((o, i) => o / inSps[i])).toFixed(3)}; weights bit-identical after ${FORCED_ROUNDS} rounds: ${identical}`);
  writeJson('bench/results/bigtable-forced.json', {
    machine: machine(),
    loadAverage: loads,
    config: { rows: inside.model.layout.totalRows, chunk: CHUNK, rounds: FORCED_ROUNDS, dim: DIM, mlp: MLP, batch: BATCH, optimizer: 'adam', arch: 'dnn', threads: THREADS },
    inside: inSps,
    outside: outSps,
    ratio: med(outSps) / med(inSps),
    identical,
  });
  if (!identical) throw new Error('the outside table trained to other weights than the in-memory one');
  await inside.dispose();
  await outside.dispose();
}
