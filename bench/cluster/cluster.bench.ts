// `npm run bench:cluster`: the cluster path (`train --cluster`, 2 and 4 worker processes on this machine, one
// `nats-server -js` on loopback) against one `bhembed train` process on the same generated Criteo-shaped rows:
// test AUC gap, rows/s per worker, time in synchronisation, and an estimate for N machines from the measured sync
// cost. Writes bench/results/cluster.json. Flags: --rows=N (training rows, default 200000), --sync=ROWS.
// One run per configuration on a shared machine: the times are noisy (2 cores: 4 workers share them).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterReport } from '../../src/cluster/coordinator.js';
import { natsServerMissing, startNats } from '../../test/nats-harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../../src/cli/bin.js');
const arg = (name: string, def: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const ROWS = arg('rows', 200_000);
const TEST = Math.round(ROWS / 4);
const SYNC = arg('sync', 8192);

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

const MODEL = ['--format', 'criteo', '--model', 'deepfm', '--embedding', 'bh', '--compression', '100', '--dim', '8', '--mlp', '64,32', '--epochs', '1', '--batch-size', '256', '--threads', '1', '--seed', '1'];

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

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`${ROWS} training rows, ${TEST} test rows; load average ${load()} (times on a shared machine are noisy)`);
const loads = [loadavg()[0]];
const t0 = performance.now();
const single = await run(['train', '--train', train, '--test', test, ...MODEL, '--metrics', join(dir, 'single.json'), '-q']);
if (single.code !== 0) throw new Error(single.err);
const singleSeconds = (performance.now() - t0) / 1000;
const sm = JSON.parse(readFileSync(join(dir, 'single.json'), 'utf8')) as { test: { auc: number }; train: { seconds: number; samplesPerSec: number } };
console.log(`single process: test AUC ${sm.test.auc.toFixed(4)}, ${sm.train.samplesPerSec.toFixed(0)} rows/s training, ${singleSeconds.toFixed(1)} s wall`);

interface Leg {
  workers: number;
  auc: number;
  aucGap: number;
  wallSeconds: number;
  rowsPerSecPerWorker: number;
  trainSecondsPerWorker: number;
  syncSecondsPerWorker: number;
  syncSecondsPerRound: number;
  rounds: number;
  bytesUpPerRound: number;
}
const legs: Leg[] = [];
const nats = await startNats();
try {
  for (const W of [2, 4]) {
    const job = `bench${W}_${process.pid}`;
    const args = ['train', '--train', train, '--test', test, ...MODEL, '--cluster', nats.url, '--job', job, '--shard-rows', '16384', '--sync-every', String(SYNC), '-q'];
    const t1 = performance.now();
    const rs = await Promise.all(Array.from({ length: W }, (_, i) => run([...args, '--metrics', join(dir, `w${W}-${i}.json`)])));
    const wall = (performance.now() - t1) / 1000;
    for (const r of rs) if (r.code !== 0) throw new Error(r.err);
    const rep = JSON.parse(readFileSync(join(dir, `w${W}-0.json`), 'utf8')) as ClusterReport;
    const ws = rep.workers;
    const mean = (f: (w: (typeof ws)[number]) => number): number => ws.reduce((a, w) => a + f(w), 0) / ws.length;
    const syncs = ws.reduce((a, w) => a + w.syncs, 0);
    const leg: Leg = {
      workers: W,
      auc: rep.test?.auc ?? NaN,
      aucGap: (rep.test?.auc ?? NaN) - sm.test.auc,
      wallSeconds: wall,
      rowsPerSecPerWorker: mean((w) => w.rowsPerSec),
      trainSecondsPerWorker: mean((w) => w.trainSeconds),
      syncSecondsPerWorker: mean((w) => w.syncSeconds),
      syncSecondsPerRound: ws.reduce((a, w) => a + w.syncSeconds, 0) / Math.max(1, syncs),
      rounds: rep.rounds,
      bytesUpPerRound: ws.reduce((a, w) => a + w.bytesUp, 0) / Math.max(1, syncs),
    };
    legs.push(leg);
    loads.push(loadavg()[0]);
    console.log(
      `${W} workers: test AUC ${leg.auc.toFixed(4)} (gap ${leg.aucGap >= 0 ? '+' : ''}${leg.aucGap.toFixed(4)}), ${leg.rowsPerSecPerWorker.toFixed(0)} rows/s per worker, ` +
        `train ${leg.trainSecondsPerWorker.toFixed(1)} s + sync ${leg.syncSecondsPerWorker.toFixed(1)} s per worker, ${(1000 * leg.syncSecondsPerRound).toFixed(0)} ms and ${(leg.bytesUpPerRound / 1e3).toFixed(0)} kB per sync, ${leg.rounds} rounds, ${wall.toFixed(1)} s wall`,
    );
  }
} finally {
  await nats.stop();
}

// N machines, one worker each: a round = SYNC rows of training at the single process's rate (one machine's
// cores to itself) + the sync cost, which grows with N (the coordinator reads N submissions). The measured cost
// per sync at 2 and 4 workers gives the line a + b·N (on this machine it also holds waiting for the slowest).
const TOLERANCE = 0.002; // the bar: test AUC within 0.002 of the single process on the same rows
for (const l of legs) console.log(`${l.workers} workers: AUC within ${TOLERANCE} of one process: ${Math.abs(l.aucGap) <= TOLERANCE ? 'yes' : 'NO'} (${l.aucGap >= 0 ? '+' : ''}${l.aucGap.toFixed(4)})`);
console.log(`load average (1 min) at the start and after each leg: ${loads.map((x) => x.toFixed(1)).join(', ')}`);
const [l2, l4] = legs;
const b = (l4.syncSecondsPerRound - l2.syncSecondsPerRound) / 2;
const a = l2.syncSecondsPerRound - 2 * b;
const rowSeconds = 1 / sm.train.samplesPerSec;
const estimate = [2, 4, 8, 16, 32].map((N) => {
  const sync = Math.max(0, a + Math.max(0, b) * N);
  const rps = (N * SYNC) / (SYNC * rowSeconds + sync);
  return { machines: N, syncSecondsPerRound: sync, rowsPerSec: rps, speedup: rps / sm.train.samplesPerSec };
});
console.log(`estimate (sync every ${SYNC} rows; sync cost ${(1000 * a).toFixed(0)} ms + ${(1000 * b).toFixed(0)} ms x N, fitted on 2 and 4 workers):`);
for (const e of estimate) console.log(`  ${e.machines} machines: ${e.rowsPerSec.toFixed(0)} rows/s, ${e.speedup.toFixed(2)}x one process (sync ${(1000 * e.syncSecondsPerRound).toFixed(0)} ms per round)`);

mkdirSync(resolve(here, '../../../bench/results'), { recursive: true });
const out = resolve(here, '../../../bench/results/cluster.json');
writeFileSync(
  out,
  JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model }, node: process.version, loadAverages: loads, aucTolerance: TOLERANCE, rows: ROWS, testRows: TEST, sync: SYNC, single: { auc: sm.test.auc, rowsPerSec: sm.train.samplesPerSec }, legs, estimate }, null, 2),
);
console.log(`wrote ${out}`);
