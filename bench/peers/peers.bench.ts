// Peer benchmark driver: exports each configuration's dump once, then runs the legs (bhembed and PyTorch on 1
// and 2 threads, TensorFlow.js WASM stock and tuned) as separate processes, interleaved A B C A B C, takes medians
// and prints bhembed / best-peer ratios. Writes bench/results/peers.json and bench/results/peers.md.
//
//   bash bench/peers/run.sh [--quick] [--repeats N] [--only a,b] [--legs bhembed,torch-1,...] [--out DIR]
//
// Legs: bhembed, bhembed-2 (Trainer on 1 / 2 threads), torch-1, torch-2, tfjs (stock), tfjs-tuned.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_CONFIGS, type PeerConfig } from './configs.js';
import { exportConfig } from './export.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench/peers
const ROOT = join(HERE, '..', '..', '..');
const PYTHON = '/usr/bin/python3';

export interface LegResult {
  leg: string;
  config: string;
  threads: number;
  framework: string;
  trainSamplesPerSec: number;
  inferSamplesPerSec4096: number;
  inferSamplesPerSec1: number;
  peakRssMB: number;
  auc: number;
  logloss: number;
  [k: string]: unknown;
}

interface Leg {
  name: string;
  peer: boolean;
  cmd: (dir: string, batch1: number) => [string, string[]];
}

const LEGS: Leg[] = [
  { name: 'bhembed', peer: false, cmd: (d, b1) => [process.execPath, [join(HERE, 'bhembed-peer.js'), d, '--threads', '1', '--batch1', String(b1)]] },
  { name: 'bhembed-2', peer: false, cmd: (d, b1) => [process.execPath, [join(HERE, 'bhembed-peer.js'), d, '--threads', '2', '--batch1', String(b1)]] },
  { name: 'torch-1', peer: true, cmd: (d, b1) => [PYTHON, [join(ROOT, 'bench/peers/torch_ctr.py'), d, '--threads', '1', '--batch1', String(b1)]] },
  { name: 'torch-2', peer: true, cmd: (d, b1) => [PYTHON, [join(ROOT, 'bench/peers/torch_ctr.py'), d, '--threads', '2', '--batch1', String(b1)]] },
  { name: 'tfjs', peer: true, cmd: (d, b1) => [process.execPath, [join(HERE, 'tfjs-peer.js'), d, '--batch1', String(b1)]] },
  { name: 'tfjs-tuned', peer: true, cmd: (d, b1) => [process.execPath, [join(HERE, 'tfjs-peer.js'), d, '--tuned', '--batch1', String(b1)]] },
];

/**
 * Both tfjs legs train 5–20× slower than the others: on the 2M-row synthetic set one run would take 30–60 min,
 * so the full-size run leaves them out (their --quick numbers stand in). Stock tfjs runs in round 1 only.
 */
function defaultLegs(cfg: PeerConfig, quick: boolean): string[] {
  const all = LEGS.map((l) => l.name);
  return cfg.data === 'synthetic-criteo' && !quick ? all.filter((l) => !l.startsWith('tfjs')) : all;
}
const ONCE = new Set(['tfjs']);

const METRICS = [
  { key: 'trainSamplesPerSec', label: 'train samples/s', higher: true },
  { key: 'inferSamplesPerSec4096', label: 'infer samples/s @4096', higher: true },
  { key: 'inferSamplesPerSec1', label: 'infer samples/s @1', higher: true },
  { key: 'peakRssMB', label: 'peak RSS MB', higher: false },
  { key: 'auc', label: 'test AUC', higher: true },
  { key: 'logloss', label: 'test logloss', higher: false },
  // Int8 serving: bhembed's Predictor precision 'int8' and torch's quantize_dynamic (onednn) on the same trained model.
  { key: 'inferSamplesPerSec4096Int8', label: 'infer @4096 int8', higher: true },
  { key: 'inferSamplesPerSec1Int8', label: 'infer @1 int8', higher: true },
  { key: 'aucInt8', label: 'test AUC int8', higher: true },
  // bhembed's Predictor with 2 worker threads (data-parallel batches, each its own model copy); peers: n/a.
  { key: 'inferSamplesPerSec4096Workers', label: 'infer @4096 fp32 ×2 workers', higher: true },
  { key: 'inferSamplesPerSec4096Int8Workers', label: 'infer @4096 int8 ×2 workers', higher: true },
  // bhembed's static int8 (activation scales calibrated on training rows; a row's score does not depend on its batch).
  { key: 'inferSamplesPerSec4096Int8Static', label: 'infer @4096 int8-static', higher: true },
  { key: 'inferSamplesPerSec1Int8Static', label: 'infer @1 int8-static', higher: true },
  { key: 'aucInt8Static', label: 'test AUC int8-static', higher: true },
  { key: 'inferSamplesPerSec4096Int8StaticWorkers', label: 'infer @4096 int8-static ×2 workers', higher: true },
] as const;
type MetricKey = (typeof METRICS)[number]['key'];

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function runLeg(leg: Leg, dir: string, batch1: number, log: (s: string) => void): LegResult | null {
  const [cmd, args] = leg.cmd(dir, batch1);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    log(`  ${leg.name}: FAILED (exit ${r.status}, ${secs} s)\n${(r.stderr ?? '').split('\n').slice(-8).join('\n')}`);
    return null;
  }
  const res = JSON.parse(line) as LegResult;
  res.leg = leg.name;
  log(`  ${leg.name.padEnd(10)} ${secs.padStart(6)} s  train ${fmt(res.trainSamplesPerSec)}/s  infer ${fmt(res.inferSamplesPerSec4096)}/s @4096, ${fmt(res.inferSamplesPerSec1)}/s @1  RSS ${res.peakRssMB.toFixed(0)} MB  AUC ${res.auc.toFixed(4)}  logloss ${res.logloss.toFixed(4)}${typeof res.inferSamplesPerSec4096Int8 === 'number' ? `  int8: ${fmt(res.inferSamplesPerSec4096Int8)}/s @4096, ${fmt(res.inferSamplesPerSec1Int8 as number)}/s @1, AUC ${(res.aucInt8 as number).toFixed(4)}` : ''}${typeof res.inferSamplesPerSec4096Int8Workers === 'number' ? `  ×2 workers: fp32 ${fmt(res.inferSamplesPerSec4096Workers as number)}/s, int8 ${fmt(res.inferSamplesPerSec4096Int8Workers)}/s` : ''}${typeof res.inferSamplesPerSec4096Int8Static === 'number' ? `  int8-static: ${fmt(res.inferSamplesPerSec4096Int8Static)}/s @4096, AUC ${(res.aucInt8Static as number).toFixed(4)}` : ''}`);
  return res;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3);
}

interface ConfigSummary {
  config: string;
  repeats: number;
  legs: Record<string, Record<MetricKey, number> & { framework: string; runs: number }>;
  /** Best bhembed leg / best peer leg per metric, naming both. */
  ratios: Record<MetricKey, { ratio: number; bestPeer: string; bestBhembed: string }>;
  /** Best bhembed int8 @4096 / best peer fp32 @4096 (int8 serving against the peers' default float path). */
  int8VsPeerFp32?: { ratio: number; bestPeer: string; bestBhembed: string };
  runs: LegResult[];
}

function summarize(cfg: string, repeats: number, runs: LegResult[]): ConfigSummary {
  const legs: ConfigSummary['legs'] = {};
  const rank = (l: string): number => {
    const i = LEGS.findIndex((x) => x.name === l);
    return i < 0 ? LEGS.length : i;
  };
  for (const name of [...new Set(runs.map((r) => r.leg))].sort((a, b) => rank(a) - rank(b))) {
    const rs = runs.filter((r) => r.leg === name);
    const entry = { framework: rs[0].framework, runs: rs.length } as ConfigSummary['legs'][string];
    for (const m of METRICS) entry[m.key] = median(rs.map((r) => (typeof r[m.key] === 'number' ? (r[m.key] as number) : NaN)));
    legs[name] = entry;
  }
  const ratios = {} as ConfigSummary['ratios'];
  const isPeer = (l: string): boolean => LEGS.find((x) => x.name === l)?.peer ?? true;
  const best = (names: string[], m: (typeof METRICS)[number]): string => {
    let b = '';
    for (const p of names) {
      const v = legs[p][m.key];
      if (!Number.isFinite(v)) continue;
      if (b === '' || (m.higher ? v > legs[b][m.key] : v < legs[b][m.key])) b = p;
    }
    return b;
  };
  const names = Object.keys(legs);
  for (const m of METRICS) {
    const bp = best(names.filter(isPeer), m);
    const bb = best(names.filter((l) => !isPeer(l)), m);
    ratios[m.key] = { ratio: bp && bb ? legs[bb][m.key] / legs[bp][m.key] : NaN, bestPeer: bp, bestBhembed: bb };
  }
  const m4096 = METRICS.find((m) => m.key === 'inferSamplesPerSec4096') as (typeof METRICS)[number];
  const bp32 = best(names.filter(isPeer), m4096);
  // The best bhembed int8 figure (dynamic or static), in-thread or with workers.
  let bb8 = '';
  let v8 = NaN;
  for (const key of ['inferSamplesPerSec4096Int8', 'inferSamplesPerSec4096Int8Workers', 'inferSamplesPerSec4096Int8Static', 'inferSamplesPerSec4096Int8StaticWorkers'] as const) {
    for (const l of names.filter((x) => !isPeer(x))) {
      const v = legs[l][key];
      if (Number.isFinite(v) && !(v <= v8)) {
        v8 = v;
        bb8 = `${l} ${key.includes('Static') ? 'int8-static' : 'int8'}${key.endsWith('Workers') ? ' ×2 workers' : ''}`;
      }
    }
  }
  const int8VsPeerFp32 = { ratio: bp32 && bb8 ? v8 / legs[bp32][m4096.key] : NaN, bestPeer: bp32, bestBhembed: bb8 };
  return { config: cfg, repeats, legs, ratios, int8VsPeerFp32, runs };
}

export function markdown(summaries: ConfigSummary[], header: string): string {
  const out: string[] = [header, ''];
  for (const s of summaries) {
    out.push(`### ${s.config} (median of ${s.repeats})`, '');
    out.push(`| leg | framework | ${METRICS.map((m) => m.label).join(' | ')} |`);
    out.push(`|---|---|${METRICS.map(() => '---:').join('|')}|`);
    for (const [name, l] of Object.entries(s.legs)) {
      const cells = METRICS.map((m) => (!Number.isFinite(l[m.key]) ? 'n/a' : m.key === 'auc' || m.key === 'logloss' || m.key === 'aucInt8' || m.key === 'aucInt8Static' ? l[m.key].toFixed(4) : m.key === 'peakRssMB' ? l[m.key].toFixed(0) : fmt(l[m.key])));
      out.push(`| ${name} | ${l.framework} | ${cells.join(' | ')} |`);
    }
    const rc = METRICS.map((m) => {
      const r = s.ratios[m.key];
      return r !== undefined && Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}× (${r.bestBhembed} vs ${r.bestPeer})` : 'n/a';
    });
    out.push(`| **bhembed / best peer** | | ${rc.join(' | ')} |`, '');
    const x = s.int8VsPeerFp32;
    if (x && Number.isFinite(x.ratio)) out.push(`bhembed int8 @4096 / best peer fp32 @4096: **${x.ratio.toFixed(2)}×** (${x.bestBhembed} vs ${x.bestPeer} fp32)`, '');
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const quick = args.includes('--quick');
  const repeats = Number(opt('--repeats') ?? (quick ? 1 : 3));
  const only = opt('--only')?.split(',');
  const legFilter = opt('--legs')?.split(',');
  const outRoot = opt('--out') ?? '/tmp/bhembed-peers';
  const batch1 = Number(opt('--batch1') ?? (quick ? 300 : 2000));
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const log = (s: string): void => {
    process.stdout.write(s + '\n');
  };

  // --render: rebuild peers.md (and the summaries in peers.json) from the runs already recorded, run nothing.
  const renderOnly = args.includes('--render');
  const configs = renderOnly ? [] : PEER_CONFIGS.filter((c) => !only || only.includes(c.name));
  // A full run updates peers.json configuration by configuration (so frappe and the synthetic set can be run
  // as separate invocations); --quick writes peers-quick.json from scratch.
  const summaries: ConfigSummary[] = [];
  const previous = new Map<string, ConfigSummary>();
  let firstStarted = new Date().toISOString();
  const resultsFile = join(resultsDir, quick ? 'peers-quick.json' : 'peers.json');
  if (!quick && existsSync(resultsFile)) {
    try {
      const old = JSON.parse(readFileSync(resultsFile, 'utf8')) as { configs: ConfigSummary[]; started?: string; firstStarted?: string };
      for (const c of old.configs) previous.set(c.config, c);
      firstStarted = old.firstStarted ?? old.started ?? firstStarted;
    } catch {
      previous.clear();
    }
  }
  const started = new Date().toISOString();
  const loadStart = loadavg();
  for (const cfg of configs) {
    const t0 = performance.now();
    const dir = await exportConfig(cfg, { quick, outRoot, fallbackIndex: false });
    log(`${cfg.name}: dump ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const legs = LEGS.filter((l) => (legFilter ? legFilter.includes(l.name) : defaultLegs(cfg, quick).includes(l.name)));
    const runs: LegResult[] = [];
    for (let r = 0; r < repeats; r++) {
      log(` round ${r + 1}/${repeats}`);
      for (const leg of legs) {
        if (r > 0 && ONCE.has(leg.name) && !args.includes('--all-rounds')) continue;
        const res = runLeg(leg, dir, batch1, log);
        if (res) runs.push(res);
      }
    }
    // Keep earlier runs of legs this invocation did not run (e.g. a later `--legs bhembed-2` pass).
    const ran = new Set(legs.map((l) => l.name));
    const kept = (previous.get(cfg.name)?.runs ?? []).filter((r) => !ran.has(r.leg));
    summaries.push(summarize(cfg.name, Math.max(repeats, previous.get(cfg.name)?.repeats ?? 0), [...kept, ...runs]));
    previous.delete(cfg.name);
    // Write after every configuration so a long run leaves partial results.
    write([...summaries, ...previous.values()]);
  }

  function write(s: ConfigSummary[]): void {
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      node: process.version,
      loadavgAtStart: loadStart,
      loadavgNow: loadavg(),
    };
    const json = { benchmark: 'peers', firstStarted, started, finished: new Date().toISOString(), quick, repeats, machine, configs: s };
    writeFileSync(resultsFile, JSON.stringify(json, null, 1) + '\n');
    const when = firstStarted === started ? started : `runs from ${firstStarted} to ${new Date().toISOString()}`;
    const head = `## Peer benchmark${quick ? ' (--quick)' : ''}: ${when}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`;
    const order = PEER_CONFIGS.map((c) => c.name);
    const md = markdown([...s].sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config)), head);
    writeFileSync(join(resultsDir, quick ? 'peers-quick.md' : 'peers.md'), md + '\n');
  }
  if (renderOnly) {
    const again = [...previous.values()].map((c) => summarize(c.config, c.repeats, c.runs));
    previous.clear();
    write(again);
    summaries.push(...again);
  }
  const md = markdown(summaries, '');
  log(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
