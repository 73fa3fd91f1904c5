// Web-scale training: Criteo-shaped generated data (src/data/generate.ts, streamed to disk in a temp folder) at
// 1M, 10M and 45M rows, BH training streamed from the files through the shuffle buffer. Reports, each against a
// peer measured in the same run: peak RSS of every size vs the 1M stream (target: 45M within 15 %), and on the
// same 1M rows the stream vs the rows held in memory: samples/s (target ≥ 0.9×; --repeat rounds, default 5, of a
// stream leg and an in-memory leg back to back, alternating which goes first; the verdict is the median of the
// rounds' ratios) and test AUC (target within 0.002). Every leg runs in its own process (its peak RSS is its own).
// Run: npm run bench:scale [-- --sizes 1M,10M,45M] [--repeat 5] [--model dnn] [--data-dir DIR [--generate-only]]: with
// --data-dir the generated files stay in DIR and are reused (generate them once, at low priority, with
// --generate-only; then run the legs under the bench lock, e.g. --sizes 1M --repeat 3, then --sizes 1M,45M
// --repeat 0 for the RSS legs). The 45M leg takes about an hour on 2 cores.
// --full: the full embedding instead: the vocabularies of the largest size's stream (the pipeline's counting pass,
// once; --vocab-only stops there), then the full run on the base size against the large-vocabulary model trained on
// --full-train rows (default: the largest size), interleaved; e.g. --sizes 1M,45M --full --full-train 10M.
// --zipf S: the Zipf exponent of the generated value ranks (default 1.1: 13M distinct values in 45M rows; 0.9:
// about 25M, nearer Criteo Kaggle's 33.8M), for a full table of tens of millions of rows.
// Shared machine: noisy; compare rows of one run. Writes bench/results/scale.json (--full: scale-full.json).

import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { FullSpec } from '../../src/embedding/config.js';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateCriteo } from '../../src/data/generate.js';
import { loadRunData, trainModel, type ModelOptions } from '../../src/experiment/pipeline.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

interface Leg {
  train: string;
  test: string;
  mode: 'memory' | 'stream';
  model: string;
  /** 'full': the full embedding (a vocabulary per field) instead of BH. @default 'bh' */
  method?: 'bh' | 'full';
  /** 'full': the vocabularies from this folder (written by a 'vocab' leg) instead of the training rows' own. */
  vocabDir?: string;
  /** Only the streamed counting pass with the full vocabularies, written to this folder (no training). */
  writeVocab?: string;
}

interface LegResult {
  mode: string;
  rows: number;
  samplesPerSec: number;
  trainSeconds: number;
  loadSeconds: number;
  testAuc: number;
  maxRssMB: number;
  /** Rows of the full tables (Σ vocabulary + 1 OOV row per field). */
  tableRows?: number;
  setupSeconds?: number;
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

function modelOptions(arch: string, method: 'bh' | 'full' = 'bh'): ModelOptions {
  const m: ModelOptions = { arch: arch as ModelOptions['arch'], method: 'bh', blockBits: 4, dim: 8, mlp: [64], epochs: 1, batchSize: 1024, lr: 1e-3, optimizer: 'adam', threads: 1, seed: 1 };
  if (method === 'full') {
    m.method = 'full';
    delete m.blockBits;
  }
  return m;
}

async function runLeg(leg: Leg): Promise<void> {
  const t0 = performance.now();
  if (leg.writeVocab !== undefined) {
    // The pipeline's counting pass of a streamed --embedding full run: distinct counts and full vocabularies.
    const data = await loadRunData({ format: 'criteo', train: leg.train, dataMode: 'stream', fullVocab: true });
    const specs = data.fullSpecs as FullSpec[];
    mkdirSync(leg.writeVocab, { recursive: true });
    specs.forEach((sp, f) => writeFileSync(join(leg.writeVocab as string, `f${f}.json`), JSON.stringify(sp.vocab)));
    const out = { mode: 'vocab', rows: data.train.rows, tableRows: specs.reduce((a, sp) => a + sp.vocab.length + 1, 0), setupSeconds: (performance.now() - t0) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024 };
    process.stdout.write(`LEG ${JSON.stringify(out)}\n`);
    return;
  }
  // BH plans on the plan sample (the first 262,144 rows), streamed without a counting pass; the in-memory leg plans on
  // the same sample, so both train the same tables.
  const bh = leg.method !== 'full';
  const data = await loadRunData({ format: 'criteo', train: leg.train, test: leg.test, dataMode: leg.mode, fullVocab: leg.method === 'full' && leg.vocabDir === undefined, planCounts: bh ? 'sample' : 'pass' });
  let tableRows: number | undefined;
  if (leg.vocabDir !== undefined) {
    // The vocabularies of a larger stream: this run trains the large table on the rows of leg.train.
    data.fullSpecs = data.train.fieldNames.map((_, f): FullSpec => ({ method: 'full', minCount: 1, vocab: JSON.parse(readFileSync(join(leg.vocabDir as string, `f${f}.json`), 'utf8')) as string[] }));
    data.distinct = data.fullSpecs.map((sp) => (sp as FullSpec).vocab.length);
  }
  if (data.fullSpecs !== null) tableRows = data.fullSpecs.reduce((a, sp) => a + (sp as FullSpec).vocab.length + 1, 0);
  const setupSeconds = (performance.now() - t0) / 1000;
  const { metrics } = await trainModel(data, modelOptions(leg.model, leg.method));
  const out: LegResult = {
    mode: data.train.mode,
    rows: metrics.train.rows,
    samplesPerSec: metrics.train.samplesPerSec,
    trainSeconds: metrics.train.seconds,
    loadSeconds: data.loadSeconds,
    testAuc: metrics.test?.auc as number,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    ...(tableRows === undefined ? {} : { tableRows, setupSeconds }),
  };
  process.stdout.write(`LEG ${JSON.stringify(out)}\n`);
}

function spawnLeg(leg: Leg): LegResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--leg', JSON.stringify(leg)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('LEG '));
  if (r.status !== 0 || line === undefined) throw new Error(`leg ${JSON.stringify(leg)} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(4)) as LegResult;
}

/**
 * The generated rows of a run, in `dir`: rows 0 .. max-1 of one stream (seed 7) to train, the next testRows to
 * test (the same test rows for every size); a size's training file holds the first `n` rows. Files already in
 * dir (from --generate-only or an earlier run with --data-dir) are reused.
 */
async function makeData(dir: string, max: number, testRows: number, sizes: number[], zipfExponent?: number): Promise<void> {
  const test = join(dir, `test-${testRows}.tsv`);
  const trains = sizes.map((n) => join(dir, `train-${n}.tsv`));
  if (existsSync(test) && trains.every((f) => existsSync(f))) return;
  const all = join(dir, `all-${max}-${testRows}.tsv`);
  await generateCriteo({ rows: max + testRows, out: all, probOut: null, seed: 7, teacherSeed: 7, zipfExponent }); // the rows of the runs in BENCHMARKS.md
  // One read of the generated rows writes every size's file and the test file.
  const outs = sizes.map((n) => ({ n, w: createWriteStream(join(dir, `train-${n}.part`)) }));
  const t = createWriteStream(join(dir, `test-${testRows}.part`));
  let i = 0;
  for await (const line of createInterface({ input: createReadStream(all), crlfDelay: Infinity })) {
    const text = `${line}\n`;
    if (i >= max) {
      if (!t.write(text)) await new Promise<void>((r) => t.once('drain', () => r()));
    } else {
      for (const o of outs) if (i < o.n && !o.w.write(text)) await new Promise<void>((r) => o.w.once('drain', () => r()));
    }
    i++;
  }
  await Promise.all([...outs.map((o) => o.w), t].map((w) => new Promise<void>((r) => w.end(() => r()))));
  rmSync(all);
  for (const n of sizes) renameSync(join(dir, `train-${n}.part`), join(dir, `train-${n}.tsv`));
  renameSync(join(dir, `test-${testRows}.part`), test);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const parseSize = (s: string): number => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`--sizes: '${s}' is not a row count like 1M or 250k`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'm' ? 1e6 : m[2].toLowerCase() === 'k' ? 1e3 : 1));
};

async function main(): Promise<void> {
  if (args.includes('--leg')) return runLeg(JSON.parse(opt('--leg', '{}')) as Leg);
  const sizes = opt('--sizes', '1M,10M,45M').split(',').map(parseSize);
  const repeat = Number(opt('--repeat', '5'));
  const model = opt('--model', 'dnn');
  const testRows = Number(opt('--test-rows', '200000'));
  // --data-dir DIR keeps the generated files there (and reuses them); by default a temp folder, removed at the end.
  const keep = args.includes('--data-dir');
  const dir = keep ? opt('--data-dir', '') : mkdtempSync(join(tmpdir(), 'bhembed-scale-'));
  if (keep) mkdirSync(dir, { recursive: true });
  const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  const results: Record<string, unknown> = { machine: machine(), model: modelOptions(model), sizes, repeat, testRows };
  try {
    const base = sizes[0];
    log(`generating ${Math.max(...sizes)} + ${testRows} rows into ${dir} (or reusing them)`);
    await makeData(dir, Math.max(...sizes), testRows, sizes, args.includes('--zipf') ? Number(opt('--zipf', '1.1')) : undefined);
    if (args.includes('--generate-only')) return;
    const testFile = join(dir, `test-${testRows}.tsv`);
    const fileOf = (n: number): { train: string; test: string } => ({ train: join(dir, `train-${n}.tsv`), test: testFile });
    const small = fileOf(base);
    if (args.includes('--full')) {
      // The full embedding at scale: the vocabularies of the largest size's stream (the pipeline's counting pass,
      // written once to dir/vocab-N: its peak RSS is the id maps'), then the full run on the base size (its own
      // vocabulary) against the model with the large vocabulary trained on the rows of --full-train (default: the
      // largest size), interleaved base, large, base, … (--repeat rounds). All streamed, WASM backend.
      const big = Math.max(...sizes);
      const vocabDir = join(dir, `vocab-${big}`);
      if (!existsSync(join(vocabDir, 'f0.json'))) {
        log(`full vocabularies of the ${big}-row stream into ${vocabDir}`);
        const v = spawnLeg({ ...fileOf(big), mode: 'stream', model, writeVocab: vocabDir });
        log(`vocabulary pass: ${v.tableRows} table rows in ${v.setupSeconds?.toFixed(0)} s, peak RSS ${v.maxRssMB.toFixed(0)} MB`);
        results.vocab = v;
      }
      if (args.includes('--vocab-only')) return;
      const trainN = args.includes('--full-train') ? parseSize(opt('--full-train', '')) : big;
      const baseRuns: LegResult[] = [];
      const bigRuns: LegResult[] = [];
      const rounds = Math.max(1, repeat);
      for (let r = 0; r < rounds; r++) {
        const a = spawnLeg({ ...small, mode: 'stream', model, method: 'full' });
        baseRuns.push(a);
        log(`full, ${base} rows: ${Math.round(a.samplesPerSec)} samples/s, ${a.tableRows} table rows, test AUC ${a.testAuc.toFixed(4)}, peak RSS ${a.maxRssMB.toFixed(0)} MB`);
        const b = spawnLeg({ ...fileOf(trainN), mode: 'stream', model, method: 'full', vocabDir });
        bigRuns.push(b);
        log(`full, vocabulary of ${big} rows, trained on ${trainN} rows: ${Math.round(b.samplesPerSec)} samples/s, ${b.tableRows} table rows, test AUC ${b.testAuc.toFixed(4)}, peak RSS ${b.maxRssMB.toFixed(0)} MB, setup ${b.setupSeconds?.toFixed(0)} s`);
      }
      const a = spawnLeg({ ...small, mode: 'stream', model, method: 'full' });
      baseRuns.push(a);
      log(`full, ${base} rows: ${Math.round(a.samplesPerSec)} samples/s, test AUC ${a.testAuc.toFixed(4)}, peak RSS ${a.maxRssMB.toFixed(0)} MB`);
      const fr = median(bigRuns.map((x) => x.samplesPerSec)) / median(baseRuns.map((x) => x.samplesPerSec));
      console.log(`\nfull embedding, ${big}-row vocabulary / ${base}-row run samples/s: ${fr.toFixed(3)} (target ≥ 0.8)`);
      Object.assign(results, { full: { base: baseRuns, big: bigRuns, ratio: fr, trainRows: trainN } });
      writeJson('bench/results/scale-full.json', results);
      return;
    }
    const mem: LegResult[] = [];
    const str: LegResult[] = [];
    // What both legs time: samples/s = training rows / the wall time of Trainer.fit (one epoch), in a process of its
    // own. Outside it in both: process start, the model's setup and the test pass. The in-memory leg reads, parses
    // and hashes every row before (its loadSeconds); the stream reads only its plan sample before (the first 262,144
    // rows, which it trains on first) and parses the rest on a worker thread during fit, so its timing includes
    // whatever that costs the training thread.
    const load0 = loadavg();
    if (repeat > 0) log(`load average ${load0.map((x) => x.toFixed(2)).join(', ')}; ${repeat} rounds of a stream leg and an in-memory leg, interleaved (s·m, m·s, …)`);
    for (let r = 0; r < repeat; r++) {
      // Interleaved, alternating which goes first.
      const order: Array<'memory' | 'stream'> = r % 2 === 0 ? ['stream', 'memory'] : ['memory', 'stream'];
      for (const mode of order) {
        const res = spawnLeg({ ...small, mode, model });
        (mode === 'memory' ? mem : str).push(res);
        log(`${base} rows ${mode} #${r + 1}: ${Math.round(res.samplesPerSec)} samples/s (fit ${res.trainSeconds.toFixed(1)} s, load before it ${res.loadSeconds.toFixed(1)} s), test AUC ${res.testAuc.toFixed(4)}, peak RSS ${res.maxRssMB.toFixed(0)} MB`);
      }
      log(`round ${r + 1}: stream / in memory ${(str[r].samplesPerSec / mem[r].samplesPerSec).toFixed(3)}`);
    }
    const load1 = loadavg();
    // The verdict: the median of the rounds' ratios (each round's two legs ran back to back, so a change of the load
    // between rounds cancels); the ratio of the medians is printed too.
    const perRound = str.map((x, r) => x.samplesPerSec / mem[r].samplesPerSec);
    const ratio = repeat > 0 ? median(perRound) : NaN;
    const ratioOfMedians = repeat > 0 ? median(str.map((x) => x.samplesPerSec)) / median(mem.map((x) => x.samplesPerSec)) : NaN;
    const dAuc = Math.abs(median(str.map((x) => x.testAuc)) - median(mem.map((x) => x.testAuc)));
    const rows: Array<Array<string | number>> = repeat === 0 ? [] : [
      [`${base} in memory (median of ${repeat})`, Math.round(median(mem.map((x) => x.samplesPerSec))), median(mem.map((x) => x.testAuc)).toFixed(4), median(mem.map((x) => x.maxRssMB)).toFixed(0), '—'],
      [`${base} streamed (median of ${repeat})`, Math.round(median(str.map((x) => x.samplesPerSec))), median(str.map((x) => x.testAuc)).toFixed(4), median(str.map((x) => x.maxRssMB)).toFixed(0), '1.00'],
    ];
    // The RSS baseline: at least one streamed leg of the base size (also with --repeat 0, which skips the speed legs).
    if (str.length === 0) str.push(spawnLeg({ ...small, mode: 'stream', model }));
    const rss1 = median(str.map((x) => x.maxRssMB));
    const big: Record<number, LegResult> = {};
    for (const n of sizes.slice(1)) {
      const res = spawnLeg({ ...fileOf(n), mode: 'stream', model });
      big[n] = res;
      log(`${n} rows stream: ${Math.round(res.samplesPerSec)} samples/s, test AUC ${res.testAuc.toFixed(4)}, peak RSS ${res.maxRssMB.toFixed(0)} MB (${(res.maxRssMB / rss1).toFixed(2)}× the ${base} stream)`);
      rows.push([`${n} streamed`, Math.round(res.samplesPerSec), res.testAuc.toFixed(4), res.maxRssMB.toFixed(0), (res.maxRssMB / rss1).toFixed(2)]);
    }
    console.log('');
    printTable(['run', 'train samples/s', 'test AUC', 'peak RSS MB', 'RSS × 1st stream'], rows);
    if (repeat > 0) {
      console.log(`\nstream / in-memory samples/s on the same ${base} rows, per round: ${perRound.map((x) => x.toFixed(3)).join(' · ')}`);
      console.log(`  median of the rounds' ratios ${ratio.toFixed(3)} (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}); ratio of the medians ${ratioOfMedians.toFixed(3)}; |ΔAUC| ${dAuc.toFixed(4)} (target ≤ 0.002: ${dAuc <= 0.002 ? 'met' : 'NOT met'})`);
      console.log(`  timed in both legs: Trainer.fit of one epoch; the in-memory leg's read+parse+hash (median ${median(mem.map((x) => x.loadSeconds)).toFixed(1)} s) is before it, the stream's (after its plan sample, ${median(str.map((x) => x.loadSeconds)).toFixed(1)} s) overlaps it on a worker thread`);
      console.log(`  load average before ${load0.map((x) => x.toFixed(2)).join(', ')}; after ${load1.map((x) => x.toFixed(2)).join(', ')} (a leg itself adds ~1-2)`);
      // The stream overlaps parsing with training only on a free core: with other work running, its parse worker
      // is paid from the same CPU share as its training thread and the ratio drifts towards train / (train + parse).
      if (load0[0] > 1) console.log(`  NOTE: the machine was busy before the run (1-min load ${load0[0].toFixed(2)} on ${cpus().length} cores): this ratio is not the quiet-machine verdict`);
    }
    console.log(`peak RSS of the ${base} stream: ${rss1.toFixed(0)} MB (median of ${str.length})`);
    for (const n of sizes.slice(1)) console.log(`peak RSS ${n} / ${base} stream: ${(big[n].maxRssMB / rss1).toFixed(3)} (target ≤ 1.15)`);
    Object.assign(results, { memory: mem, stream: str, big, ratio, perRound, ratioOfMedians, dAuc, loadavg: { before: load0, after: load1 } });
    writeJson('bench/results/scale.json', results);
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
