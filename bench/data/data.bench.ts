// `npm run bench:data`: rows/s of the Criteo reader (plain and gzip) against a naive baseline in the same run
// (readline + split + xxhash-wasm h64 per value, same int→category rule), on synthetic Criteo rows written by
// generateCriteo (whose speed is reported too). Writes bench/results/data.json. Flags: --quick, --rows=N.

import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import xxhash from 'xxhash-wasm';
import { openReader } from '../../src/data/open.js';
import { generateCriteo } from '../../src/data/generate.js';

const quick = process.argv.includes('--quick');
const rowsArg = process.argv.find((a) => a.startsWith('--rows='));
const ROWS = rowsArg ? Number(rowsArg.slice(7)) : quick ? 100_000 : 500_000;
const REPS = quick ? 2 : 3;

interface Timing {
  wall: number;
  cpu: number;
  rows: number;
}

async function timed(fn: () => Promise<number>): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, rows };
}

/** Median over REPS runs of rows/s by wall time and by process CPU time (steadier on a shared machine). */
async function measure(fn: () => Promise<number>): Promise<{ wallRps: number; cpuRps: number; rows: number }> {
  const ts: Timing[] = [];
  for (let i = 0; i < REPS; i++) ts.push(await timed(fn));
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wallRps: med(ts.map((t) => t.rows / t.wall)), cpuRps: med(ts.map((t) => t.rows / t.cpu)), rows: ts[0].rows };
}

const { h64 } = await xxhash();

/** The obvious implementation: readline, split, parse, String(category), h64 per value. */
async function naive(path: string, gz: boolean): Promise<number> {
  const raw = createReadStream(path);
  const input = gz ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  const chunk = 8192;
  let labels = new Float32Array(chunk);
  let ids = Array.from({ length: 39 }, () => new BigUint64Array(chunk));
  let r = 0;
  let rows = 0;
  for await (const line of rl) {
    const cols = line.split('\t');
    if (cols.length !== 40) throw new Error(`bad line ${rows + 1}`);
    labels[r] = cols[0] === '1' ? 1 : 0;
    for (let k = 0; k < 13; k++) {
      const s = cols[k + 1];
      let tok = '';
      if (s !== '') {
        const v = parseInt(s, 10);
        tok = String(v > 2 ? Math.floor(Math.log(v) ** 2) : v);
      }
      ids[k][r] = h64(tok, BigInt(k));
    }
    for (let k = 0; k < 26; k++) ids[13 + k][r] = h64(cols[14 + k], BigInt(13 + k));
    rows++;
    if (++r === chunk) {
      r = 0;
      labels = new Float32Array(chunk);
      ids = Array.from({ length: 39 }, () => new BigUint64Array(chunk));
    }
  }
  return rows;
}

async function ours(path: string): Promise<number> {
  const reader = await openReader('criteo', path, { chunkRows: 8192 });
  let rows = 0;
  for await (const c of reader.chunks()) rows += c.rows;
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'bhembed-bench-data-'));
try {
  const plain = join(dir, 'synth.tsv');
  const gz = join(dir, 'synth.tsv.gz');
  console.log(`generating ${ROWS} synthetic Criteo rows (default Kaggle cardinalities, Zipf 1.1)…`);
  const gen = await generateCriteo({ rows: ROWS, out: plain, seed: 1 });
  const genGz = await generateCriteo({ rows: Math.min(ROWS, 200_000), out: gz, seed: 1, probOut: null });
  const bytes = statSync(plain).size;
  console.log(`  generator: ${Math.round(gen.rowsPerSecond)} rows/s (${(bytes / ROWS).toFixed(0)} bytes/row, Bayes AUC ${gen.bayesAuc.toFixed(4)})`);

  const results: Record<string, { wallRps: number; cpuRps: number; rows: number }> = {};
  results['criteo reader, plain'] = await measure(() => ours(plain));
  results['naive baseline, plain'] = await measure(() => naive(plain, false));
  results['criteo reader, gzip'] = await measure(() => ours(gz));
  results['naive baseline, gzip'] = await measure(() => naive(gz, true));

  console.log('\nrows/s (median of', REPS, 'runs)        wall        cpu');
  for (const [k, v] of Object.entries(results)) {
    console.log(`  ${k.padEnd(26)} ${String(Math.round(v.wallRps)).padStart(10)} ${String(Math.round(v.cpuRps)).padStart(10)}`);
  }
  const r = (a: string, b: string, k: 'wallRps' | 'cpuRps'): number => results[a][k] / results[b][k];
  const ratio = {
    plainWall: r('criteo reader, plain', 'naive baseline, plain', 'wallRps'),
    plainCpu: r('criteo reader, plain', 'naive baseline, plain', 'cpuRps'),
    gzipWall: r('criteo reader, gzip', 'naive baseline, gzip', 'wallRps'),
    gzipCpu: r('criteo reader, gzip', 'naive baseline, gzip', 'cpuRps'),
  };
  console.log(`\nspeed-up over the naive baseline: plain ${ratio.plainWall.toFixed(2)}× wall, ${ratio.plainCpu.toFixed(2)}× cpu; gzip ${ratio.gzipWall.toFixed(2)}× wall, ${ratio.gzipCpu.toFixed(2)}× cpu`);
  const target = 300_000;
  // "one core": rows per CPU-second of this process (wall time also counts time the scheduler gave to others).
  const ok = results['criteo reader, plain'].cpuRps >= target;
  console.log(`target ≥ ${target} rows per CPU-second (plain): ${ok ? 'met' : 'NOT met'}`);

  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/data.json',
    JSON.stringify(
      {
        bench: 'data',
        date: new Date().toISOString(),
        machine: { cpu: cpus()[0]?.model, cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) },
        node: process.version,
        config: { rows: ROWS, reps: REPS, chunkRows: 8192, bytesPerRow: bytes / ROWS },
        generator: { rowsPerSecond: gen.rowsPerSecond, gzipRowsPerSecond: genGz.rowsPerSecond, bayesAuc: gen.bayesAuc },
        results,
        ratio,
        targetMet: ok,
      },
      null,
      2,
    ) + '\n',
  );
  console.log('wrote bench/results/data.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
