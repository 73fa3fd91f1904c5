// Peer exporter: turns a benchmark configuration into a peer dump (dump.ts) by hashing every value with the
// library's XXH64 (seed = field index) and mapping it through bhembed's indexers. Data stays outside the repo
// (default /tmp/bhembed-peers); real data is only read, never copied.
//
//   node dist/bench/peers/export.js [--quick] [--only NAME] [--out DIR] [--fallback-index]
//
// Besides the peer dump it writes, for the bhembed leg only, index-specs.json and <split>.ids.u32 (the hash ids).

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { allocIds, type HashIds } from '../../src/core/ids.js';
import { Rng } from '../../src/core/rng.js';
import { BatchHasher } from '../../src/hash/xxh64.js';
import { CRITEO_KAGGLE_CARDINALITIES, CriteoTeacher } from '../../src/data/generate.js';
import { logSquaredBucket } from '../../src/data/tokens.js';
import { FRAPPE_DIR, PEER_CONFIGS, PEER_SEED, QUICK_LIMIT, quickConfig, type PeerConfig } from './configs.js';
import { SplitWriter, writeMeta, type PeerField, type PeerMeta, type PeerSplit } from './dump.js';
import { loadIndexerSource, type IndexerSource } from './indexers.js';
import type { Indexer } from '../../src/embedding/table.js';

const SPLITS: PeerSplit[] = ['train', 'valid', 'test'];
export const EMBEDDING_STD = 0.01;
/** Bump when the exporter's output changes, so cached dumps are rebuilt. */
const EXPORTER_REVISION = 4;

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
  const wanted = JSON.stringify({ cfg, indexer: source.kind, exporterRevision: EXPORTER_REVISION, layout: process.env.PEER_DUMP_LAYOUT ?? 'auto' });
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
  const forced = process.env.PEER_DUMP_LAYOUT; // 'rows' | 'values': for testing both layouts on small sets
  const layout: PeerMeta['layout'] = forced === 'rows' || forced === 'values' ? forced : n.train * rowsPerSample * 4 > 1e9 ? 'values' : 'rows';
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
  // For the bhembed leg: each field's exact index spec (full: with its vocabulary) and each split's hash ids,
  // field-major (field f = 2n u32 words, lo/hi pairs), so bhembed starts from what it would hash itself.
  writeFileSync(join(dir, 'index-specs.json'), JSON.stringify(indexers.map((ix) => ix.toSpec())));
  for (const split of SPLITS) {
    const fd = openSync(join(dir, `${split}.ids.u32`), 'w');
    const m = n[split];
    const buf = new Uint32Array(2 * m);
    for (let f = 0; f < F; f++) {
      const codes = data.codes[split][f];
      const idsF = data.ids[f];
      for (let i = 0; i < m; i++) {
        buf[2 * i] = idsF[2 * codes[i]];
        buf[2 * i + 1] = idsF[2 * codes[i] + 1];
      }
      const bytes = new Uint8Array(buf.buffer, 0, 8 * m);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    }
    closeSync(fd);
  }
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

/**
 * Criteo-shaped synthetic set from the library's planted teacher (src/data/generate.ts, CriteoTeacher with its
 * documented defaults: Kaggle cardinalities, Zipf 1.1, 4 pair terms, CTR 0.25), drawn row by row exactly as
 * generateCriteo does, but kept in memory as coded values instead of a TSV: I1..I13 enter as their Criteo
 * category floor(ln(v)²) ('' when missing), C1..C26 as the teacher's 8-hex-digit tokens ('' when missing).
 */
function syntheticCriteo(n: { train: number; valid: number; test: number }): CodedData {
  const teacher = new CriteoTeacher({
    seed: PEER_SEED,
    cardinalities: CRITEO_KAGGLE_CARDINALITIES,
    zipfExponent: 1.1,
    missingRate: 0.05,
    intMissingRate: 0.2,
    pairs: 4,
    ctr: 0.25,
    signal: 1,
  });
  teacher.calibrate(0.25);
  const rng = new Rng(PEER_SEED);
  const fieldNames = [...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
  const F = fieldNames.length;
  const coders = fieldNames.map((_, f) => new FieldCoder(f));
  // Rank → code memo per categorical field (ranks repeat heavily under Zipf), so the token string is built once.
  const rankCode = Array.from({ length: 26 }, () => new Map<number, number>());
  const codes = {} as Record<PeerSplit, Int32Array[]>;
  const labels = {} as Record<PeerSplit, Float32Array>;
  for (const split of SPLITS) {
    const m = n[split];
    const cs = Array.from({ length: F }, () => new Int32Array(m));
    const ls = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      const p = 1 / (1 + Math.exp(-(teacher.bias + teacher.drawRow(rng))));
      ls[i] = rng.next() < p ? 1 : 0;
      for (let j = 0; j < 13; j++) {
        const v = teacher.ints[j];
        cs[j][i] = coders[j].code(Number.isNaN(v) ? '' : String(logSquaredBucket(v)));
      }
      for (let f = 0; f < 26; f++) {
        const k = teacher.ranks[f];
        let c = rankCode[f].get(k);
        if (c === undefined) {
          c = coders[13 + f].code(teacher.token(f, k));
          rankCode[f].set(k, c);
        }
        cs[13 + f][i] = c;
      }
    }
    codes[split] = cs;
    labels[split] = ls;
  }
  return {
    fieldNames,
    codes,
    ids: coders.map((c) => c.finish()),
    labels,
    source: `src/data/generate.ts CriteoTeacher (seed ${PEER_SEED}, defaults), ${n.train}/${n.valid}/${n.test} rows, 13 integer + 26 categorical fields`,
  };
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
