// Web-scale training: Criteo-shaped generated data (src/data/generate.ts, streamed to disk in a temp folder) at
// 1M, 10M and 45M rows, BH training streamed from the files through the shuffle buffer. Reports, each against a
// peer measured in the same run: peak RSS of every size vs the 1M stream (target: 45M within 15 %), and on the
// same 1M rows the stream vs the rows held in memory: samples/s (target ≥ 0.9×; legs repeated and interleaved,
// medians) and test AUC (target within 0.002). Every leg runs in its own process (its peak RSS is its own).
// Run: npm run bench:scale [-- --sizes 1M,10M,45M] [--repeat 3] [--model dnn]. The 45M leg takes hours on 2 cores.
// Shared machine: noisy; compare rows of one run. Writes bench/results/scale.json.

import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
}

interface LegResult {
  mode: string;
  rows: number;
  samplesPerSec: number;
  trainSeconds: number;
  loadSeconds: number;
  testAuc: number;
  maxRssMB: number;
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

function modelOptions(arch: string): ModelOptions {
  return { arch: arch as ModelOptions['arch'], method: 'bh', blockBits: 4, dim: 8, mlp: [64], epochs: 1, batchSize: 1024, lr: 1e-3, optimizer: 'adam', threads: 1, seed: 1 };
}

async function runLeg(leg: Leg): Promise<void> {
  const data = await loadRunData({ format: 'criteo', train: leg.train, test: leg.test, dataMode: leg.mode });
  const { metrics } = await trainModel(data, modelOptions(leg.model));
  const out: LegResult = {
    mode: data.train.mode,
    rows: metrics.train.rows,
    samplesPerSec: metrics.train.samplesPerSec,
    trainSeconds: metrics.train.seconds,
    loadSeconds: data.loadSeconds,
    testAuc: metrics.test?.auc as number,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
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

/** Rows + testRows generated rows (one teacher); the first `rows` to train, the rest to test, streamed line by line. */
async function makeData(dir: string, rows: number, testRows: number): Promise<{ train: string; test: string }> {
  const all = join(dir, `all-${rows}.tsv`);
  await generateCriteo({ rows: rows + testRows, out: all, probOut: null, seed: 7 });
  const train = join(dir, `train-${rows}.tsv`);
  const test = join(dir, `test-${rows}.tsv`);
  const a = createWriteStream(train);
  const b = createWriteStream(test);
  let i = 0;
  for await (const line of createInterface({ input: createReadStream(all), crlfDelay: Infinity })) {
    const w = i++ < rows ? a : b;
    if (!w.write(`${line}\n`)) await new Promise<void>((r) => w.once("drain", () => r()));
  }
  await Promise.all([a, b].map((w) => new Promise<void>((r) => w.end(() => r()))));
  rmSync(all);
  return { train, test };
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
  const repeat = Number(opt('--repeat', '3'));
  const model = opt('--model', 'dnn');
  const testRows = Number(opt('--test-rows', '200000'));
  const dir = mkdtempSync(join(tmpdir(), 'bhembed-scale-'));
  const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  const results: Record<string, unknown> = { machine: machine(), model: modelOptions(model), sizes, repeat, testRows };
  try {
    const base = sizes[0];
    log(`generating ${base} + ${testRows} rows into ${dir}`);
    const small = await makeData(dir, base, testRows);
    const mem: LegResult[] = [];
    const str: LegResult[] = [];
    for (let r = 0; r < repeat; r++) {
      // Interleaved, alternating which goes first.
      const order: Array<'memory' | 'stream'> = r % 2 === 0 ? ['stream', 'memory'] : ['memory', 'stream'];
      for (const mode of order) {
        const res = spawnLeg({ ...small, mode, model });
        (mode === 'memory' ? mem : str).push(res);
        log(`${base} rows ${mode} #${r + 1}: ${Math.round(res.samplesPerSec)} samples/s, test AUC ${res.testAuc.toFixed(4)}, peak RSS ${res.maxRssMB.toFixed(0)} MB`);
      }
    }
    const ratio = median(str.map((x) => x.samplesPerSec)) / median(mem.map((x) => x.samplesPerSec));
    const dAuc = Math.abs(median(str.map((x) => x.testAuc)) - median(mem.map((x) => x.testAuc)));
    const rows: Array<Array<string | number>> = [
      [`${base} in memory (median of ${repeat})`, Math.round(median(mem.map((x) => x.samplesPerSec))), median(mem.map((x) => x.testAuc)).toFixed(4), median(mem.map((x) => x.maxRssMB)).toFixed(0), '—'],
      [`${base} streamed (median of ${repeat})`, Math.round(median(str.map((x) => x.samplesPerSec))), median(str.map((x) => x.testAuc)).toFixed(4), median(str.map((x) => x.maxRssMB)).toFixed(0), '1.00'],
    ];
    const rss1 = median(str.map((x) => x.maxRssMB));
    const big: Record<number, LegResult> = {};
    rmSync(small.train);
    for (const n of sizes.slice(1)) {
      log(`generating ${n} + ${testRows} rows`);
      const d = await makeData(dir, n, testRows);
      const res = spawnLeg({ ...d, mode: 'stream', model });
      big[n] = res;
      log(`${n} rows stream: ${Math.round(res.samplesPerSec)} samples/s, test AUC ${res.testAuc.toFixed(4)}, peak RSS ${res.maxRssMB.toFixed(0)} MB (${(res.maxRssMB / rss1).toFixed(2)}× the ${base} stream)`);
      rows.push([`${n} streamed`, Math.round(res.samplesPerSec), res.testAuc.toFixed(4), res.maxRssMB.toFixed(0), (res.maxRssMB / rss1).toFixed(2)]);
      rmSync(d.train);
      rmSync(d.test);
    }
    console.log('');
    printTable(['run', 'train samples/s', 'test AUC', 'peak RSS MB', 'RSS × 1st stream'], rows);
    console.log(`\nstream / in-memory samples/s on the same ${base} rows: ${ratio.toFixed(3)} (target ≥ 0.9); |ΔAUC| ${dAuc.toFixed(4)} (target ≤ 0.002)`);
    for (const n of sizes.slice(1)) console.log(`peak RSS ${n} / ${base} stream: ${(big[n].maxRssMB / rss1).toFixed(3)} (target ≤ 1.15)`);
    Object.assign(results, { memory: mem, stream: str, big, ratio, dAuc });
    writeJson('bench/results/scale.json', results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
