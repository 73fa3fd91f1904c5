// Peer exporter: turns a benchmark configuration into a peer dump (dump.ts) by hashing every value with the
// library's XXH64 (seed = field index) and mapping it through bhembed's indexers. Data stays outside the repo
// (default /tmp/bhembed-peers); real data is only read, never copied.
//
//   node dist/bench/peers/export.js [--quick] [--only NAME] [--out DIR] [--fallback-index]

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { allocIds, type HashIds } from '../../src/core/ids.js';
import { Rng } from '../../src/core/rng.js';
import { BatchHasher } from '../../src/hash/xxh64.js';
import { FRAPPE_DIR, PEER_CONFIGS, PEER_SEED, QUICK_LIMIT, quickConfig, type PeerConfig } from './configs.js';
import { SplitWriter, writeMeta, type PeerField, type PeerMeta, type PeerSplit } from './dump.js';
import { loadIndexerSource, type IndexerSource } from './indexers.js';
import type { Indexer } from '../../src/embedding/table.js';

const SPLITS: PeerSplit[] = ['train', 'valid', 'test'];
export const EMBEDDING_STD = 0.01;
/** Bump when the exporter's output changes, so cached dumps are rebuilt. */
const EXPORTER_REVISION = 2;

/** Categorical data before indexing: per split, per field, n values as small dense codes plus each code's hash id. */
export interface CodedData {
  fieldNames: string[];
  /** codes[split][f][i]: code of sample i in field f (index into ids[f]). */
  codes: Record<PeerSplit, Int32Array[]>;
  /** ids[f]: the 64-bit hash id of each code of field f (2 words per code). */
  ids: HashIds[];
  labels: Record<PeerSplit, Float32Array>;
  source: string;
}

export interface ExportOptions {
  quick: boolean;
  outRoot: string;
  fallbackIndex: boolean;
}

export function dumpDir(outRoot: string, cfg: PeerConfig, quick: boolean): string {
  return join(outRoot, quick ? `${cfg.name}-quick` : cfg.name);
}

/** Write the dump of one configuration unless an identical one is already there; returns its folder. */
export async function exportConfig(cfg0: PeerConfig, opts: ExportOptions, cache = new Map<string, CodedData>()): Promise<string> {
  const cfg = opts.quick ? quickConfig(cfg0) : cfg0;
  const dir = dumpDir(opts.outRoot, cfg, opts.quick);
  const source = await loadIndexerSource(opts.fallbackIndex);
  const wanted = JSON.stringify({ cfg, indexer: source.kind, exporterRevision: EXPORTER_REVISION });
  const stamp = join(dir, 'config.json');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted && existsSync(join(dir, 'meta.json'))) return dir;

  const data = loadCodedData(cfg, opts.quick, cache);
  writeDump(dir, cfg, data, source, opts.quick);
  writeFileSync(stamp, wanted);
  return dir;
}

function writeDump(dir: string, cfg: PeerConfig, data: CodedData, source: IndexerSource, quick: boolean): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const F = data.fieldNames.length;
  // Per field: the rows of every code, from the indexer (full learns its vocabulary from training occurrences).
  const codeRows: Int32Array[] = [];
  const fields: PeerField[] = [];
  let offset = 0;
  const indexers = buildIndexers(cfg, data, source);
  for (let f = 0; f < F; f++) {
    const indexer = indexers[f];
    const idsF = data.ids[f];
    const nCodes = idsF.length / 2;
    const k = indexer.rowsPerValue;
    const table = new Int32Array(nCodes * k);
    indexer.index(idsF, nCodes, table, 0);
    codeRows.push(table);
    const spec = { ...indexer.toSpec() } as Record<string, unknown>;
    if (Array.isArray(spec.vocab)) spec.vocab = `${(spec.vocab as unknown[]).length} ids`;
    fields.push({ name: data.fieldNames[f], numRows: indexer.numRows, rowsPerValue: k, fusion: 'sum', offset, method: indexer.method, spec });
    offset += k;
  }
  const rowsPerSample = offset;
  const n = { train: data.labels.train.length, valid: data.labels.valid.length, test: data.labels.test.length };
  // Factor the rows when n × ΣK int32 would exceed ~1 GB (dump.ts, layout 'values').
  const layout: PeerMeta['layout'] = n.train * rowsPerSample * 4 > 1e9 ? 'values' : 'rows';
  if (layout === 'values') {
    fields.forEach((fd, f) => {
      fd.numCodes = codeRows[f].length / fd.rowsPerValue;
      writeFileSync(join(dir, `field${f}.rows.i32`), new Uint8Array(codeRows[f].buffer, codeRows[f].byteOffset, codeRows[f].byteLength));
    });
  }
  for (const split of SPLITS) {
    const per = layout === 'rows' ? rowsPerSample : F;
    const w = new SplitWriter(dir, split, per, layout);
    const block = 8192;
    const rows = new Int32Array(block * per);
    const codes = data.codes[split];
    for (let start = 0; start < n[split]; start += block) {
      const m = Math.min(block, n[split] - start);
      for (let i = 0; i < m; i++) {
        if (layout === 'values') {
          for (let f = 0; f < F; f++) rows[i * F + f] = codes[f][start + i];
          continue;
        }
        const base = i * rowsPerSample;
        for (let f = 0; f < F; f++) {
          const k = fields[f].rowsPerValue;
          const c = codes[f][start + i];
          const t = codeRows[f];
          const o = base + fields[f].offset;
          for (let j = 0; j < k; j++) rows[o + j] = t[c * k + j];
        }
      }
      w.write(rows, data.labels[split].subarray(start, start + m), m);
    }
    w.close();
  }
  const meta: PeerMeta = {
    format: 'bhembed-peer-dump',
    version: 1,
    name: cfg.name,
    source: data.source,
    indexer: source.kind,
    layout,
    fields,
    rowsPerSample,
    dim: cfg.dim,
    arch: cfg.arch,
    mlp: cfg.mlp,
    batch: cfg.batch,
    lr: cfg.lr,
    epochs: cfg.epochs,
    optimizer: { dense: 'adam', embedding: cfg.embeddingOptimizer, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    init: { embedding: 'normal', embeddingStd: EMBEDDING_STD, dense: 'glorot_uniform', linear: 'zeros' },
    export: { config: cfg.name, quick },
    seed: PEER_SEED,
    n,
  };
  writeMeta(dir, meta);
}

/** The categorical data of a (quick-adjusted) configuration: coded values and one hash id per code. */
export function loadCodedData(cfg: PeerConfig, quick: boolean, cache = new Map<string, CodedData>()): CodedData {
  const key = `${cfg.data}:${JSON.stringify(cfg.synthetic ?? null)}:${quick}`;
  let data = cache.get(key);
  if (!data) {
    data = cfg.data === 'frappe' ? readFrappe(quick) : syntheticCriteo(cfg.synthetic ?? { train: 0, valid: 0, test: 0 });
    cache.set(key, data);
  }
  return data;
}

/** Each field's indexer, built exactly as the exporter builds it (full learns its vocabulary from train). */
export function buildIndexers(cfg: PeerConfig, data: CodedData, source: IndexerSource): Indexer[] {
  return data.fieldNames.map((_, f) => {
    const codes = data.codes.train[f];
    const occ = allocIds(codes.length);
    const idsF = data.ids[f];
    for (let i = 0; i < codes.length; i++) {
      occ[2 * i] = idsF[2 * codes[i]];
      occ[2 * i + 1] = idsF[2 * codes[i] + 1];
    }
    return source.build(cfg.index, occ, codes.length);
  });
}

/** Interns a field's value strings into dense codes and hashes each distinct value once. */
class FieldCoder {
  private readonly map = new Map<string, number>();
  private ids: HashIds = allocIds(1024);
  private readonly hasher = new BatchHasher();
  constructor(private readonly seed: number) {}

  code(value: string): number {
    let c = this.map.get(value);
    if (c === undefined) {
      c = this.map.size;
      this.map.set(value, c);
      if (2 * c + 2 > this.ids.length) {
        const bigger = allocIds(this.ids.length);
        bigger.set(this.ids);
        this.ids = bigger;
      }
      this.hasher.hashString(value, this.seed, this.ids, c);
    }
    return c;
  }

  finish(): HashIds {
    return this.ids.slice(0, 2 * this.map.size);
  }
}

const FRAPPE_FIELDS = ['user', 'item', 'daytime', 'weekday', 'isweekend', 'homework', 'cost', 'weather', 'country', 'city'];

/** frappe libfm: `label idx:1 …`, field i = i-th token, the value is the feature index string. */
function readFrappe(quick: boolean): CodedData {
  const F = FRAPPE_FIELDS.length;
  const coders = FRAPPE_FIELDS.map((_, f) => new FieldCoder(f));
  const codes = {} as Record<PeerSplit, Int32Array[]>;
  const labels = {} as Record<PeerSplit, Float32Array>;
  const files: Record<PeerSplit, string> = { train: 'train.libfm.gz', valid: 'valid.libfm.gz', test: 'test.libfm.gz' };
  for (const split of SPLITS) {
    const file = join(FRAPPE_DIR, files[split]);
    let lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (quick) {
      const stride = Math.max(1, Math.floor(lines.length / QUICK_LIMIT[split]));
      lines = lines.filter((_, i) => i % stride === 0).slice(0, QUICK_LIMIT[split]);
    }
    const n = lines.length;
    const cs = Array.from({ length: F }, () => new Int32Array(n));
    const ls = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const tok = lines[i].trim().split(/\s+/);
      if (tok.length !== F + 1) throw new Error(`${file}:${i + 1}: expected ${F + 1} tokens, got ${tok.length}`);
      ls[i] = Number(tok[0]) > 0 ? 1 : 0;
      for (let f = 0; f < F; f++) {
        const t = tok[f + 1];
        const colon = t.indexOf(':');
        cs[f][i] = coders[f].code(colon < 0 ? t : t.slice(0, colon));
      }
    }
    codes[split] = cs;
    labels[split] = ls;
  }
  return { fieldNames: FRAPPE_FIELDS, codes, ids: coders.map((c) => c.finish()), labels, source: `${FRAPPE_DIR}${quick ? ' (quick slice)' : ''}` };
}

// Criteo-shaped cardinalities: 13 bucketed integer fields, then the 26 categorical fields of Criteo Kaggle
// capped at 200k so a 2M-row set still repeats values.
const CRITEO_CARDS = [
  50, 100, 200, 50, 300, 150, 100, 60, 200, 10, 40, 30, 80, 1460, 583, 200000, 200000, 305, 24, 12517, 633, 3, 93145, 5683, 200000,
  3194, 27, 14992, 200000, 10, 5652, 2173, 4, 200000, 18, 15, 200000, 105, 142572,
];

/**
 * Seeded teacher for a Criteo-shaped set (stand-in until src/data/generate.ts exists): power-law values per
 * field, label ~ Bernoulli(σ(b + Σ w_f[v] + FM interaction of 4-dim latents)).
 */
function syntheticCriteo(n: { train: number; valid: number; test: number }): CodedData {
  const F = CRITEO_CARDS.length;
  const rng = new Rng(PEER_SEED);
  const LAT = 4;
  const w = CRITEO_CARDS.map((c) => {
    const a = new Float32Array(c);
    for (let i = 0; i < c; i++) a[i] = 0.5 * rng.normal();
    return a;
  });
  const lat = CRITEO_CARDS.map((c) => {
    const a = new Float32Array(c * LAT);
    for (let i = 0; i < a.length; i++) a[i] = 0.35 * rng.normal();
    return a;
  });
  const codes = {} as Record<PeerSplit, Int32Array[]>;
  const labels = {} as Record<PeerSplit, Float32Array>;
  const sum = new Float64Array(LAT);
  for (const split of SPLITS) {
    const m = n[split];
    const cs = Array.from({ length: F }, () => new Int32Array(m));
    const ls = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      let logit = -1.6;
      sum.fill(0);
      let sq = 0;
      for (let f = 0; f < F; f++) {
        const u = rng.next();
        const v = Math.min(CRITEO_CARDS[f] - 1, Math.floor(CRITEO_CARDS[f] * u * u * u));
        cs[f][i] = v;
        logit += w[f][v] / Math.sqrt(F / 4);
        for (let d = 0; d < LAT; d++) {
          const x = lat[f][v * LAT + d];
          sum[d] += x;
          sq += x * x;
        }
      }
      let ss = 0;
      for (let d = 0; d < LAT; d++) ss += sum[d] * sum[d];
      logit += (0.5 * (ss - sq)) / F;
      ls[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
    codes[split] = cs;
    labels[split] = ls;
  }
  // Code v of field f is the value string String(v); hash each once with seed f.
  const hasher = new BatchHasher();
  const ids = CRITEO_CARDS.map((c, f) => {
    const out = allocIds(c);
    for (let v = 0; v < c; v++) hasher.hashString(String(v), f, out, v);
    return out;
  });
  const fieldNames = [...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
  return { fieldNames, codes, ids, labels, source: `bench-local seeded teacher (seed ${PEER_SEED}), ${n.train}/${n.valid}/${n.test} rows, 39 fields` };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const outRoot = args.includes('--out') ? args[args.indexOf('--out') + 1] : '/tmp/bhembed-peers';
  const opts = { quick, outRoot, fallbackIndex: args.includes('--fallback-index') };
  const cache = new Map<string, CodedData>();
  for (const cfg of PEER_CONFIGS) {
    if (only && !only.split(',').includes(cfg.name)) continue;
    const t0 = performance.now();
    const dir = await exportConfig(cfg, opts, cache);
    process.stdout.write(`${cfg.name}: ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}
