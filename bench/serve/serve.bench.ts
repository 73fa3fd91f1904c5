// `npm run bench:serve`: `bhembed serve` on loopback under autocannon: requests/s, rows/s, p50/p99 latency at 1, 16
// and 64 connections with 1 and 100 rows per request, against the same model scored offline by `bhembed predict`
// (the ceiling) in the same run, rounds interleaved, medians reported. Then a hot swap under load (a new version
// published mid-run). `--soak[=MIN]` adds a soak at half the measured maximum with 1 % malformed requests.
// Beside each wall-clock figure: CPU µs per row of the server (and of its main thread), of the load generator and of
// the offline peer, and the server's own latency histogram (a shared, loaded machine gives a run only a share of
// the cores; CPU time per row measures the work).
// Real data: /work/shared/data/criteo-head (a DNN trained on its train file, scored on its dev + test rows).
// Flags: --quick (fewer, shorter rounds), --duration=S, --soak[=MIN]. Writes bench/results/serve.json.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../../src/cli/bin.js');
const DATA = '/work/shared/data/criteo-head';
const arg = (name: string): string | undefined => process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const quick = arg('quick') !== undefined;
const DURATION = Number(arg('duration')?.split('=')[1] ?? (quick ? 3 : 6));
const REPS = quick ? 1 : 3;
const soakArg = arg('soak');
const SOAK_MIN = soakArg === undefined ? 0 : Number(soakArg.split('=')[1] ?? 10);
/** Extra `bhembed serve` flags, e.g. --serve-args='--workers 2'. */
const SERVE_ARGS = (arg('serve-args')?.split('=').slice(1).join('=') ?? '').split(' ').filter((x) => x !== '');
const OFFLINE_ROWS = quick ? [20_000, 60_000] : [20_000, 120_000];

const dir = mkdtempSync(join(tmpdir(), 'bhembed-bench-serve-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { wall: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bhembed ${args.join(' ')} failed: ${r.stderr}`);
  return { wall: (performance.now() - t0) / 1000 };
}

// CPU seconds (user + system, all threads): wall-clock figures on a shared, loaded machine measure the share of the
// cores a run got; CPU seconds per row measure the work, so they are reported beside them.
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** CPU seconds a process (or, with tid, one of its threads) has used so far (from /proc; NaN where there is none). */
function procCpu(pid: number | undefined, tid?: number): number {
  try {
    const f = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return NaN;
  }
}
/** `bhembed ARGS` run under bash's `time`: wall and CPU seconds. */
function cliCpu(args: string[]): { wall: number; cpu: number } {
  const t0 = performance.now();
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${quoted}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bhembed ${args.join(' ')} failed: ${r.stderr}`);
  const [u, sys] = r.stderr.trim().split('\n').pop()?.split(' ').map(Number) ?? [NaN, NaN];
  return { wall: (performance.now() - t0) / 1000, cpu: u + sys };
}

// The model: a DNN with a BH embedding at 10x compression, as in the README's examples.
const train = join(dir, 'train.txt');
writeFileSync(train, gunzipSync(readFileSync(join(DATA, 'train.txt.gz'))));
const modelArgs = ['--format', 'criteo', '--model', 'dnn', '--dim', '16', '--mlp', '256,128', '--embedding', 'bh', '--compression', '10', '--batch-size', '256', '-q'];
mkdirSync(join(dir, 'models', 'ctr'), { recursive: true });
cli(['train', '--train', train, ...modelArgs, '--out', join(dir, 'models', 'ctr', '1.bhm')]);
const v2 = join(dir, 'v2.bhm');
cli(['train', '--train', train, ...modelArgs, '--seed', '2', '--out', v2]);

// Rows: dev + test, as files (offline) and as JSON instances (server).
const lines = [...gunzipSync(readFileSync(join(DATA, 'dev.txt.gz'))).toString('utf8').split('\n'), ...gunzipSync(readFileSync(join(DATA, 'test.txt.gz'))).toString('utf8').split('\n')].filter(
  (l) => l !== '',
);
const NAMES = ['label', ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
const instances = lines.map((l) => {
  const o: Record<string, string | number> = {};
  l.split('\t').forEach((c, k) => {
    if (k > 0 && c !== '') o[NAMES[k]] = k <= 13 ? Number(c) : c;
  });
  return o;
});
const rowsFile = (n: number): string => {
  const p = join(dir, `rows-${n}.txt`);
  writeFileSync(p, `${Array.from({ length: n }, (_, i) => lines[i % lines.length]).join('\n')}\n`);
  return p;
};
const offlineFiles = OFFLINE_ROWS.map(rowsFile);
const bodies = (rows: number, count: number): string[] =>
  Array.from({ length: count }, (_, k) => JSON.stringify({ instances: Array.from({ length: rows }, (_, i) => instances[(k * rows + i) % instances.length]) }));
const BODIES: Record<number, string[]> = { 1: bodies(1, 64), 100: bodies(100, 16) };

/**
 * Offline rows/s of `bhembed predict`, and its CPU µs per row: the difference of two file sizes, so process start
 * and model load cancel.
 */
function offline(): { rowsPerSec: number; cpuUsPerRow: number } {
  const [a, b] = offlineFiles.map((f) => cliCpu(['predict', join(dir, 'models', 'ctr', '1.bhm'), f, '-o', '/dev/null', '-q']));
  const rows = OFFLINE_ROWS[1] - OFFLINE_ROWS[0];
  return { rowsPerSec: rows / (b.wall - a.wall), cpuUsPerRow: (1e6 * (b.cpu - a.cpu)) / rows };
}

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--model-dir', join(dir, 'models'), '--port', '0', '--poll-ms', '100', ...SERVE_ARGS], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((res, rej) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => rej(new Error(`serve exited ${code}: ${err}`)));
  });
}

interface Point {
  connections: number;
  rows: number;
  reqPerSec: number;
  rowsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU µs per row of the server process (all its threads) and of the load generator (this process). */
  serverCpuUs: number;
  clientCpuUs: number;
  /** Of serverCpuUs, the part of the server's main thread (HTTP, the event loop); the rest is the scoring threads. */
  mainCpuUs: number;
  /** From the server's own latency histogram (routing to reply, no client or socket time): share within 5 ms, and the bucket bound holding p99. */
  serverWithin5ms: number;
  serverP99Ms: number;
}

/** The server's cumulative latency histogram: bucket bound (s) → count. */
async function latencyBuckets(): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^bhembed_request_duration_seconds_bucket\{le="([^"]+)",model="ctr"\} (\d+)/gm)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

const { child, port } = await startServer();
const url = `http://127.0.0.1:${port}/v1/models/ctr:predict`;
const headers = { 'content-type': 'application/json' };

async function load(connections: number, rows: number, seconds: number): Promise<Point> {
  const h0 = await latencyBuckets();
  const s0 = procCpu(child.pid);
  const m0 = procCpu(child.pid, child.pid);
  const c0 = process.cpuUsage();
  const r = await autocannon({ url, connections, duration: seconds, requests: BODIES[rows].map((body) => ({ method: 'POST', headers, body })) });
  const c1 = process.cpuUsage(c0);
  const s1 = procCpu(child.pid);
  const m1 = procCpu(child.pid, child.pid);
  const h1 = await latencyBuckets();
  const served = r.requests.total * rows;
  const delta = [...h1].map(([le, n]) => [le, n - (h0.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const total = delta[delta.length - 1]?.[1] ?? 0;
  return {
    connections,
    rows,
    reqPerSec: r.requests.mean,
    rowsPerSec: r.requests.mean * rows,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    serverCpuUs: (1e6 * (s1 - s0)) / served,
    clientCpuUs: (c1.user + c1.system) / served,
    mainCpuUs: (1e6 * (m1 - m0)) / served,
    serverWithin5ms: (delta.find(([le]) => le === 0.005)?.[1] ?? 0) / Math.max(1, total),
    serverP99Ms: 1000 * (delta.find(([, n]) => n >= 0.99 * total)?.[0] ?? NaN),
  };
}

const CONFIGS = [1, 16, 64].flatMap((c) => [1, 100].map((rows) => ({ c, rows })));
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await load(16, 100, 2); // warm-up (JIT, connection pools)
const rounds: { offline: number; offlineCpuUs: number; points: Point[]; load: number[] }[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const off = offline();
  const points: Point[] = [];
  for (const { c, rows } of CONFIGS) points.push(await load(c, rows, DURATION));
  rounds.push({ offline: off.rowsPerSec, offlineCpuUs: off.cpuUsPerRow, points, load: loadavg() });
  process.stderr.write(`round ${rep + 1}/${REPS}: offline ${Math.round(off.rowsPerSec)} rows/s, ${off.cpuUsPerRow.toFixed(1)} CPU µs/row; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
}
const offlineMed = med(rounds.map((r) => r.offline));
const offlineCpuMed = med(rounds.map((r) => r.offlineCpuUs));
const table: Point[] = CONFIGS.map((_, k) => {
  const ps = rounds.map((r) => r.points[k]);
  return {
    connections: ps[0].connections,
    rows: ps[0].rows,
    reqPerSec: med(ps.map((p) => p.reqPerSec)),
    rowsPerSec: med(ps.map((p) => p.rowsPerSec)),
    p50: med(ps.map((p) => p.p50)),
    p99: med(ps.map((p) => p.p99)),
    errors: ps.reduce((s, p) => s + p.errors, 0),
    non2xx: ps.reduce((s, p) => s + p.non2xx, 0),
    serverCpuUs: med(ps.map((p) => p.serverCpuUs)),
    clientCpuUs: med(ps.map((p) => p.clientCpuUs)),
    mainCpuUs: med(ps.map((p) => p.mainCpuUs)),
    serverWithin5ms: med(ps.map((p) => p.serverWithin5ms)),
    serverP99Ms: med(ps.map((p) => p.serverP99Ms)),
  };
});
const at = (c: number, rows: number): Point => table.find((p) => p.connections === c && p.rows === rows) as Point;
const ratio = at(64, 100).rowsPerSec / offlineMed;

console.log(`\nbhembed serve on loopback (autocannon, ${DURATION} s per point, median of ${REPS} interleaved rounds); model: dnn 256-128, BH 10x, criteo-head`);
console.log(`offline peer: bhembed predict ${Math.round(offlineMed)} rows/s, ${offlineCpuMed.toFixed(1)} CPU µs/row (1 process, default workers; rounds ${rounds.map((r) => Math.round(r.offline)).join(' / ')})`);
console.log(`load average after each round: ${rounds.map((r) => r.load.map((x) => x.toFixed(1)).join(' ')).join(' | ')}\n`);
console.log('conns  rows/req      req/s       rows/s   p50 ms   p99 ms  errors  non-2xx  server CPU µs/row (main thread)  client CPU µs/row  server ≤5 ms  server p99 ≤ ms');
for (const p of table) {
  console.log(
    `${String(p.connections).padStart(5)}  ${String(p.rows).padStart(8)}  ${p.reqPerSec.toFixed(0).padStart(9)}  ${p.rowsPerSec.toFixed(0).padStart(11)}  ${p.p50.toFixed(2).padStart(7)}  ${p.p99.toFixed(2).padStart(7)}  ${String(p.errors).padStart(6)}  ${String(p.non2xx).padStart(7)}  ${p.serverCpuUs.toFixed(1).padStart(17)} (${p.mainCpuUs.toFixed(1).padStart(11)})  ${p.clientCpuUs.toFixed(1).padStart(17)}  ${(100 * p.serverWithin5ms).toFixed(1).padStart(11)}%  ${String(p.serverP99Ms).padStart(15)}`,
  );
}
const cpuRatio = offlineCpuMed / at(64, 100).serverCpuUs;
console.log(`\n100 rows/request at 64 connections: ${(100 * ratio).toFixed(1)} % of offline rows/s (target >= 70 %): ${ratio >= 0.7 ? 'met' : 'NOT met'}`);
console.log(`  CPU per row: server ${at(64, 100).serverCpuUs.toFixed(1)} µs (main thread ${at(64, 100).mainCpuUs.toFixed(1)}, scoring threads ${(at(64, 100).serverCpuUs - at(64, 100).mainCpuUs).toFixed(1)}) + load generator ${at(64, 100).clientCpuUs.toFixed(1)} µs, offline ${offlineCpuMed.toFixed(1)} µs: the server spends ${(100 / cpuRatio).toFixed(0)} % of offline's CPU per row`);
console.log(`1 row/request at 16 connections: p99 ${at(16, 1).p99.toFixed(2)} ms (target <= 5 ms): ${at(16, 1).p99 <= 5 ? 'met' : 'NOT met'}`);
console.log(`  server side (its latency histogram, routing to reply): ${(100 * at(16, 1).serverWithin5ms).toFixed(1)} % of requests within 5 ms, p99 within the ${at(16, 1).serverP99Ms} ms bucket`);

// Hot swap under load: 16 connections of 1-row requests; version 2 is published (rename) halfway through.
const swapSeconds = quick ? 6 : 10;
const seen: Array<{ sent: number; version: string; status: number }> = [];
let swappedAt = Infinity;
const swapRun = autocannon({
  url,
  connections: 16,
  duration: swapSeconds,
  requests: BODIES[1].map((body) => ({
    method: 'POST',
    headers,
    body,
    onResponse: (status: number, text: string, ctx: Record<string, unknown>) => {
      let version = '?';
      try {
        version = (JSON.parse(text) as { model_version: string }).model_version;
      } catch {
        /* counted as '?' */
      }
      seen.push({ sent: (ctx.sent as number | undefined) ?? 0, version, status });
      ctx.sent = performance.now(); // the next request of this connection leaves now (no pipelining)
    },
  })),
});
await new Promise((r) => setTimeout(r, (swapSeconds * 1000) / 2));
copyFileSync(v2, join(dir, 'models', 'ctr', '.2.bhm.tmp'));
renameSync(join(dir, 'models', 'ctr', '.2.bhm.tmp'), join(dir, 'models', 'ctr', '2.bhm'));
const published = performance.now();
while (swappedAt === Infinity && performance.now() - published < 10_000) {
  const st = (await (await fetch(`http://127.0.0.1:${port}/v1/models/ctr`)).json()) as { model_version_status: Array<{ version: string; state: string }> };
  if (st.model_version_status.some((v) => v.version === '2' && v.state === 'AVAILABLE')) swappedAt = performance.now();
  else await new Promise((r) => setTimeout(r, 10));
}
const sw = await swapRun;
const after = seen.filter((s) => s.sent > swappedAt);
const swap = {
  requests: sw.requests.total,
  errors: sw.errors + sw.timeouts,
  non2xx: sw.non2xx,
  v1: seen.filter((s) => s.version === '1').length,
  v2: seen.filter((s) => s.version === '2').length,
  sentAfterSwap: after.length,
  sentAfterSwapNotV2: after.filter((s) => s.version !== '2').length,
  swapMsAfterPublish: swappedAt - published,
};
console.log(
  `\nhot swap under load (16 connections, 1 row/request, ${swapSeconds} s): ${swap.requests} requests, ${swap.errors} errors, ${swap.non2xx} non-2xx; ${swap.v1} answered by version 1, ${swap.v2} by version 2; version 2 available ${swap.swapMsAfterPublish.toFixed(0)} ms after publishing; of ${swap.sentAfterSwap} requests sent after that, ${swap.sentAfterSwapNotV2} not answered by version 2`,
);

// Soak: half the measured maximum request rate of 100-row requests, 1 % malformed, RSS sampled from /proc.
let soak: Record<string, unknown> | null = null;
if (SOAK_MIN > 0) {
  const maxRate = Math.max(at(16, 100).reqPerSec, at(64, 100).reqPerSec);
  const rate = Math.max(1, Math.round(maxRate / 2));
  const bad = ['{"instances": [', '{"instances": [{"C1": true}]}', '{"instances": [{"Z9": "x"}]}', '{"instances": []}'];
  const reqs = Array.from({ length: 400 }, (_, k) => ({ method: 'POST', headers, body: k % 100 === 7 ? bad[(k / 100) | 0] : BODIES[100][k % 16] }));
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  const samples: Array<{ t: number; rss: number }> = [];
  const t0 = performance.now();
  const timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, rss: rss() }), 5000);
  const r = await autocannon({ url, connections: 16, overallRate: rate, duration: SOAK_MIN * 60, requests: reqs });
  clearInterval(timer);
  const warm = Math.min(120, (SOAK_MIN * 60) / 5);
  const base = samples.find((s) => s.t >= warm)?.rss ?? samples[0].rss;
  const peak = Math.max(...samples.filter((s) => s.t >= warm).map((s) => s.rss));
  const last = samples[samples.length - 1].rss;
  const live = await fetch(`http://127.0.0.1:${port}/v2/health/live`).then((x) => x.status).catch(() => 0);
  const codes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count]));
  const fivexx = Object.entries(codes).filter(([k]) => k.startsWith('5')).reduce((s, [, v]) => s + Number(v), 0);
  soak = { minutes: SOAK_MIN, rate, requests: r.requests.total, codes, fivexx, errors: r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99, rssBaseMB: base / 2 ** 20, rssPeakMB: peak / 2 ** 20, rssLastMB: last / 2 ** 20, growth: peak / base - 1, alive: child.exitCode === null && live === 200, samples };
  console.log(
    `\nsoak ${SOAK_MIN} min at ${rate} req/s (half of ${maxRate.toFixed(0)}), 100 rows/request, 1 % malformed: ${r.requests.total} requests, status codes ${JSON.stringify(codes)}, ${fivexx} 5xx, ${r.errors + r.timeouts} errors; p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms; RSS after ${warm} s warm-up ${(base / 2 ** 20).toFixed(1)} MB, peak ${(peak / 2 ** 20).toFixed(1)} MB, last ${(last / 2 ** 20).toFixed(1)} MB: growth ${(100 * (peak / base - 1)).toFixed(1)} % (limit 10 %); server ${soak.alive ? 'alive' : 'DEAD'}`,
  );
}

child.kill('SIGTERM');
const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
console.log(`\nserver exit code after SIGTERM: ${code}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/serve.json',
  JSON.stringify(
    { machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGB: totalmem() / 2 ** 30, node: process.version }, duration: DURATION, reps: REPS, offline: { rowsPerSec: offlineMed, cpuUsPerRow: offlineCpuMed, rounds: rounds.map((r) => r.offline), cpuRounds: rounds.map((r) => r.offlineCpuUs) }, loads: rounds.map((r) => r.load), table, ratio, cpuRatio, swap, soak, exitCode: code },
    null,
    2,
  ),
);
