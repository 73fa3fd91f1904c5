// `npm run bench:cluster`: the cluster path (`train --cluster`, 2 and 4 worker processes on this machine, one
// `nats-server -js` on loopback) against one `bhembed train` process on the same generated Criteo-shaped rows:
// test AUC gap, rows/s per worker, time in synchronisation (and where it goes), and an estimate for N machines
// from the measured sync cost. Writes bench/results/cluster.json.
//
// Flags: --rows=N (training rows, default 200000), --sync=ROWS (default 8192), --seeds=N (default 3: model seeds
// 1..N, or --seed=S..S+N-1; the data are the same rows for every seed), --workers=2,4, --args='…' (more train
// flags for every run), --cluster-args='…' (for the cluster legs only), --large-batch 0 (skip the runs of one
// process at batch W x 256, e.g. for speed runs).
// One process's test AUC moves by ~0.003 from seed to seed (sd 0.0026 over seeds 1-5), so the AUC bar is judged
// on the mean over seeds of the paired difference (cluster minus one process, same seed). The cluster's AUC is
// not bit-reproducible across runs (which worker takes which shard, and so whose optimizer state trains it,
// is a race), so a seed's difference also carries that run-to-run noise.
// Model averaging of W workers behaves like one process with W-times larger batches (measured: 2 workers vs
// batch 512 and 4 vs 1024 differ by less than the cluster's run-to-run noise), and one process at batch 256 is the
// noisiest of these (sd 0.0026 over 5 seeds against ~0.001): each seed also runs one process at batch W x 256.
// Times on a shared machine are noisy (2 cores: 4 workers share them); the speed figures are medians over seeds.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterReport } from '../../src/cluster/coordinator.js';
import type { SyncParts } from '../../src/cluster/worker.js';
import { natsServerMissing, startNats } from '../../test/nats-harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../../src/cli/bin.js');
/** --name=VALUE or --name VALUE. */
function flag(name: string): string | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
    if (argv[i] === `--${name}` && i + 1 < argv.length) return argv[i + 1];
  }
  return undefined;
}
const arg = (name: string, def: number): number => {
  const v = flag(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench:cluster: --${name} '${v}': expected a positive integer`);
    process.exit(2);
  }
  return n;
};
const ROWS = arg('rows', 200_000);
const TEST = Math.round(ROWS / 4);
const SYNC = arg('sync', 8192);
const SEEDS = arg('seeds', 3);
const SEED0 = arg('seed', 1);
const strArg = (name: string, def: string): string => flag(name) ?? def;
const WORKERS = strArg('workers', '2,4').split(',').map(Number);
if (WORKERS.some((w) => !Number.isInteger(w) || w < 1)) {
  console.error(`bench:cluster: --workers '${strArg('workers', '')}': expected counts like 2,4`);
  process.exit(2);
}
const words = (t: string): string[] => t.split(/\s+/).filter((w) => w.length > 0);
const EXTRA = words(strArg('args', ''));
const CLUSTER_EXTRA = words(strArg('cluster-args', ''));
const LARGE_BATCH = strArg('large-batch', '1') !== '0';

const missing = natsServerMissing();
if (missing) {
  console.log(`bench:cluster skipped: ${missing}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'bhembed-bench-cluster-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const all = join(dir, 'all.txt');
spawnSync(process.execPath, [BIN, 'generate', '--rows', String(ROWS + TEST), '--out', all, '--no-prob', '--seed', '1', '-q'], { stdio: 'inherit' });
const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
const train = join(dir, 'train.txt');
const test = join(dir, 'test.txt');
writeFileSync(train, `${lines.slice(0, ROWS).join('\n')}\n`);
writeFileSync(test, `${lines.slice(ROWS).join('\n')}\n`);
lines.length = 0;

const BATCH = 256;
const MODEL = ['--format', 'criteo', '--model', 'deepfm', '--embedding', 'bh', '--compression', '100', '--dim', '8', '--mlp', '64,32', '--epochs', '1', '--threads', '1', ...EXTRA];
// Model averaging of W workers moves the shared model about as one process moves with W-times larger batches (each
// round averages W workers' steps on different rows): the bench also runs one process at batch W x 256 per seed.
const batchOf = (args: string[]): number => Number(args[args.lastIndexOf('--batch-size') + 1] ?? BATCH);
const B = EXTRA.includes('--batch-size') ? batchOf(EXTRA) : BATCH;

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => res({ code, out, err }));
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
// Two-sided 95 % Student t quantiles for 1..10 degrees of freedom (a wider interval for few seeds).
const T95 = [NaN, 12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`${ROWS} training rows, ${TEST} test rows, model seeds ${SEED0}..${SEED0 + SEEDS - 1}, ${WORKERS.join(' and ')} workers, sync every ${SYNC} rows${EXTRA.length ? `, ${EXTRA.join(' ')}` : ''}${CLUSTER_EXTRA.length ? ` (cluster: ${CLUSTER_EXTRA.join(' ')})` : ''}; load average ${load()} (times on a shared machine are noisy)`);
const loads = [loadavg()[0]];

interface Single {
  seed: number;
  batch: number;
  auc: number;
  rowsPerSec: number;
  wallSeconds: number;
}
interface Leg {
  seed: number;
  workers: number;
  auc: number;
  aucGap: number;
  /** Minus one process at batch W x B (same seed). */
  aucGapLargeBatch: number;
  wallSeconds: number;
  rowsPerSecPerWorker: number;
  trainSecondsPerWorker: number;
  syncSecondsPerWorker: number;
  syncSecondsPerRound: number;
  /** Per worker sync (seconds per sync, mean over workers): SyncParts. */
  syncPartsPerSync: SyncParts;
  /** The coordinator's close per round, ms. */
  roundPhasesMs: ClusterReport['roundPhasesMs'];
  rounds: number;
  bytesUpPerRound: number;
}
const singles: Single[] = [];
const largeBatch: Single[] = [];
const legs: Leg[] = [];
const PARTS: (keyof SyncParts)[] = ['encode', 'upload', 'barrier', 'close', 'adopt', 'book'];
const nats = await startNats();
try {
  for (let seed = SEED0; seed < SEED0 + SEEDS; seed++) {
    const runSingle = async (batch: number): Promise<Single> => {
      const t0 = performance.now();
      const single = await run(['train', '--train', train, '--test', test, ...MODEL, '--batch-size', String(batch), '--seed', String(seed), '--metrics', join(dir, 'single.json'), '-q']);
      if (single.code !== 0) throw new Error(single.err);
      const sm = JSON.parse(readFileSync(join(dir, 'single.json'), 'utf8')) as { test: { auc: number }; train: { seconds: number; samplesPerSec: number } };
      const one: Single = { seed, batch, auc: sm.test.auc, rowsPerSec: sm.train.samplesPerSec, wallSeconds: (performance.now() - t0) / 1000 };
      console.log(`seed ${seed}: one process${batch !== B ? ` at batch ${batch}` : ''}: test AUC ${one.auc.toFixed(4)}, ${one.rowsPerSec.toFixed(0)} rows/s training, ${one.wallSeconds.toFixed(1)} s wall`);
      return one;
    };
    const one = await runSingle(B);
    singles.push(one);
    const large = new Map<number, Single>();
    for (const W of WORKERS) {
      const b = W * B;
      if (!LARGE_BATCH) continue;
      const got = W === 1 ? one : await runSingle(b);
      large.set(W, got);
      if (W !== 1) largeBatch.push(got);
    }
    for (const W of WORKERS) {
      const job = `bench${W}_s${seed}_${process.pid}`;
      const args = ['train', '--train', train, '--test', test, ...MODEL, '--batch-size', String(B), '--seed', String(seed), '--cluster', nats.url, '--job', job, '--shard-rows', '16384', '--sync-every', String(SYNC), ...CLUSTER_EXTRA, '-q'];
      const t1 = performance.now();
      const rs = await Promise.all(Array.from({ length: W }, (_, i) => run([...args, '--metrics', join(dir, `w${W}-${i}.json`)])));
      const wall = (performance.now() - t1) / 1000;
      for (const r of rs) if (r.code !== 0) throw new Error(r.err);
      const rep = JSON.parse(readFileSync(join(dir, `w${W}-0.json`), 'utf8')) as ClusterReport;
      const ws = rep.workers;
      const wmean = (f: (w: (typeof ws)[number]) => number): number => ws.reduce((a, w) => a + f(w), 0) / ws.length;
      const syncs = ws.reduce((a, w) => a + w.syncs, 0);
      const parts = Object.fromEntries(PARTS.map((k) => [k, ws.reduce((a, w) => a + (w.syncParts?.[k] ?? 0), 0) / Math.max(1, syncs)])) as unknown as SyncParts;
      const leg: Leg = {
        seed,
        workers: W,
        auc: rep.test?.auc ?? NaN,
        aucGap: (rep.test?.auc ?? NaN) - one.auc,
        aucGapLargeBatch: (rep.test?.auc ?? NaN) - (large.get(W)?.auc ?? NaN),
        wallSeconds: wall,
        rowsPerSecPerWorker: wmean((w) => w.rowsPerSec),
        trainSecondsPerWorker: wmean((w) => w.trainSeconds),
        syncSecondsPerWorker: wmean((w) => w.syncSeconds),
        syncSecondsPerRound: ws.reduce((a, w) => a + w.syncSeconds, 0) / Math.max(1, syncs),
        syncPartsPerSync: parts,
        roundPhasesMs: rep.roundPhasesMs,
        rounds: rep.rounds,
        bytesUpPerRound: ws.reduce((a, w) => a + w.bytesUp, 0) / Math.max(1, syncs),
      };
      legs.push(leg);
      loads.push(loadavg()[0]);
      const ph = leg.roundPhasesMs;
      console.log(
 `seed ${seed}: ${W} workers: test AUC ${leg.auc.toFixed(4)} (${signed(leg.aucGap)}${Number.isNaN(leg.aucGapLargeBatch) ? '' : `; ${signed(leg.aucGapLargeBatch)} vs batch ${W * B}`}), ${leg.rowsPerSecPerWorker.toFixed(0)} rows/s per worker, ` +
          `train ${leg.trainSecondsPerWorker.toFixed(1)} s + sync ${leg.syncSecondsPerWorker.toFixed(1)} s per worker, ${(1000 * leg.syncSecondsPerRound).toFixed(0)} ms and ${(leg.bytesUpPerRound / 1e3).toFixed(0)} kB per sync ` +
          `(${PARTS.map((k) => `${k} ${(1000 * parts[k]).toFixed(0)}`).join(', ')} ms; close: ${ph ? `detect ${ph.detect.toFixed(0)}, read ${ph.read.toFixed(0)}, merge ${ph.merge.toFixed(0)}, write ${ph.write.toFixed(0)} ms` : '-'}), ${leg.rounds} rounds, ${wall.toFixed(1)} s wall`,
      );
    }
  }
} finally {
  await nats.stop();
}

const TOLERANCE = 0.002; // the issue's bar: test AUC within 0.002 of the single process on the same rows
console.log(`\none process over seeds: mean ${mean(singles.map((s) => s.auc)).toFixed(4)}, sd ${sd(singles.map((s) => s.auc)).toFixed(4)}`);
const verdicts = WORKERS.map((W) => {
  const ls = legs.filter((l) => l.workers === W);
  const gaps = ls.map((l) => l.aucGap);
  const m = mean(gaps);
  const half = gaps.length > 1 ? (T95[Math.min(10, gaps.length - 1)] * sd(gaps)) / Math.sqrt(gaps.length) : NaN;
  const within = Math.abs(m) <= TOLERANCE;
  const big = largeBatch.filter((s) => s.batch === W * B).map((s) => s.auc);
  const lg = ls.map((l) => l.aucGapLargeBatch);
  console.log(
    `${W} workers: AUC mean ${mean(ls.map((l) => l.auc)).toFixed(4)} (sd ${sd(ls.map((l) => l.auc)).toFixed(4)}); paired difference per seed ${gaps.map(signed).join(' ')}; ` +
      `mean ${signed(m)} ± ${sd(gaps).toFixed(4)} (sd; 95 % interval of the mean ±${half.toFixed(4)}): within ${TOLERANCE} of one process on the seed mean: ${within ? 'yes' : 'NO'}`,
  );
  if (big.length > 0)
    console.log(`  one process at batch ${W * B}: mean ${mean(big).toFixed(4)} (sd ${sd(big).toFixed(4)}); ${W} workers minus it per seed ${lg.map(signed).join(' ')}, mean ${signed(mean(lg))} ± ${sd(lg).toFixed(4)}`);
  return { workers: W, gaps, meanGap: m, sdGap: sd(gaps), ci95: half, within, largeBatch: { batch: W * B, mean: mean(big), sd: sd(big), gaps: lg, meanGap: mean(lg), sdGap: sd(lg) } };
});
console.log(`load average (1 min) at the start and after each run: ${loads.map((x) => x.toFixed(1)).join(', ')}`);

// N machines, one worker each: a round = SYNC rows of training at the single process's rate (one machine's
// cores to itself) + the sync cost. On this machine the workers share 2 cores, so the barrier part (waiting for
// the others to finish their rows) is CPU sharing, not synchronisation: the cost is the rest (encode, upload,
// close after the last submission, adopt, book), fitted as a + b·N on the medians over seeds.
const costOf = (p: SyncParts): number => p.encode + p.upload + p.close + p.adopt + p.book;
const costs = WORKERS.map((W) => median(legs.filter((l) => l.workers === W).map((l) => costOf(l.syncPartsPerSync))));
const rowsPerSec = median(singles.map((s) => s.rowsPerSec));
let estimate: { machines: number; syncSecondsPerRound: number; rowsPerSec: number; speedup: number }[] = [];
let fit = { a: NaN, b: NaN };
if (WORKERS.length >= 2) {
  const [w1, w2] = [WORKERS[0], WORKERS[WORKERS.length - 1]];
  const [c1, c2] = [costs[0], costs[costs.length - 1]];
  const b = (c2 - c1) / (w2 - w1);
  const a = c1 - w1 * b;
  fit = { a, b };
  estimate = [2, 4, 8, 16, 32].map((N) => {
    const sync = Math.max(0, a + Math.max(0, b) * N);
    const rps = (N * SYNC) / (SYNC / rowsPerSec + sync);
    return { machines: N, syncSecondsPerRound: sync, rowsPerSec: rps, speedup: rps / rowsPerSec };
  });
  for (const W of WORKERS) {
    const ls = legs.filter((l) => l.workers === W);
    const mp = Object.fromEntries(PARTS.map((k) => [k, median(ls.map((l) => l.syncPartsPerSync[k]))])) as unknown as SyncParts;
    console.log(`${W} workers, median over seeds, ms per sync: ${PARTS.map((k) => `${k} ${(1000 * mp[k]).toFixed(0)}`).join(', ')}; cost without the barrier ${(1000 * costOf(mp)).toFixed(0)}; ${median(ls.map((l) => l.rowsPerSecPerWorker)).toFixed(0)} rows/s per worker`);
  }
  console.log(`estimate (sync every ${SYNC} rows at one process's ${rowsPerSec.toFixed(0)} rows/s; sync cost without the barrier ${(1000 * a).toFixed(0)} ms + ${(1000 * b).toFixed(0)} ms x N, fitted on ${w1} and ${w2} workers):`);
  for (const e of estimate) console.log(`  ${e.machines} machines: ${e.rowsPerSec.toFixed(0)} rows/s, ${e.speedup.toFixed(2)}x one process (sync ${(1000 * e.syncSecondsPerRound).toFixed(0)} ms per round)`);
}

mkdirSync(resolve(here, '../../../bench/results'), { recursive: true });
const out = resolve(here, '../../../bench/results/cluster.json');
writeFileSync(
  out,
  JSON.stringify(
    { machine: { cpus: cpus().length, model: cpus()[0]?.model }, node: process.version, loadAverages: loads, aucTolerance: TOLERANCE, rows: ROWS, testRows: TEST, sync: SYNC, args: EXTRA, clusterArgs: CLUSTER_EXTRA, singles, largeBatch, legs, verdicts, syncFit: fit, estimate },
    null,
    2,
  ),
);
console.log(`wrote ${out}`);
