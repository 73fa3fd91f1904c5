// Synthetic Criteo-format data from a planted teacher, so experiments have a known Bayes-optimal AUC. Streams rows
// in O(1) memory whatever the row count (10^8 is fine): per-value weights are hashes of (seed, field, value), never
// tables, and Zipf ranks come from rejection-inversion (zipf.ts). Seeded and deterministic.

import { recordWritten, trackPartial, untrackPartial } from '../core/cleanup.js';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { zipfSampler } from './zipf.js';
import { logSquaredBucket } from './tokens.js';
import { ioWriteError } from './source.js';

/**
 * Distinct values of C1..C26 in the Criteo Kaggle (Display Advertising Challenge) training set, 33,762,577 in all,
 * as published with Facebook's DLRM (`--data-set=kaggle`, also TorchRec's Kaggle counts).
 */
export const CRITEO_KAGGLE_CARDINALITIES: readonly number[] = [
  1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992, 5461306, 10, 5652, 2173, 4,
  7046547, 18, 15, 286181, 105, 142572,
];

export interface GenerateOptions {
  /** Rows to write. */
  rows: number;
  /** Criteo TSV output path ('.gz' → gzip-compressed), or a writable stream. */
  out: string | Writable;
  /**
   * Where each row's true click probability goes: one decimal per line, line i ↔ row i. A path ('.gz' → gzip) or
   * a stream. @default `${out}.prob` when out is a path; required when out is a stream (or pass null to skip).
   */
  probOut?: string | Writable | null;
  /**
   * Seed of the rows drawn (which values, integers and labels). Files written with different seeds and the same
   * teacherSeed are independent samples of one distribution: a train/test pair. The same seed twice gives the same
   * rows. @default 1
   */
  seed?: number;
  /**
   * Seed of the planted teacher (its weights, the value strings, missing rates, interaction pairs and bias). Keep
   * it equal across the files of one experiment; another teacher is another task (a model trained on one scores
   * about 0.5 on the other). @default 1
   */
  teacherSeed?: number;
  /** Distinct values per categorical field (26 of them). @default CRITEO_KAGGLE_CARDINALITIES */
  cardinalities?: readonly number[];
  /** Zipf exponent of the value ranks of every categorical field. @default 1.1 */
  zipfExponent?: number;
  /** Mean fraction of empty categorical cells (each field draws its own rate in [0, 2·rate]). @default 0.05 */
  missingRate?: number;
  /** Fraction of empty integer cells. @default 0.2 */
  intMissingRate?: number;
  /** Pairwise interaction terms between categorical fields. @default 4 */
  pairs?: number;
  /** Target mean click rate; the bias is calibrated on a pilot sample. @default 0.25 */
  ctr?: number;
  /** Scale of the teacher's weights (larger → more predictable labels; 1 gives a Bayes AUC near 0.80, like Criteo). @default 1 */
  signal?: number;
}

export interface GenerateStats {
  rows: number;
  positives: number;
  meanProbability: number;
  /** Bayes-optimal AUC (expectedAuc of the true probabilities) over the first min(rows, 10^6) rows. */
  bayesAuc: number;
  seconds: number;
  rowsPerSecond: number;
  bias: number;
  pairs: [number, number][];
  /** Problems worth a word that did not stop the run (the same rows as an earlier output of this process). */
  warnings: string[];
}

/** 32-bit avalanche of three words (murmur3 finalizer over a rolling combine). */
function mix3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Approximately standard normal from a hash: sum of three 10-bit uniforms, centred and scaled (Irwin–Hall). */
function hashNormal(h: number): number {
  const u = (h & 1023) + ((h >>> 10) & 1023) + ((h >>> 20) & 1023);
  return ((u + 1.5) / 1024 - 1.5) * 2;
}

const HEX = '0123456789abcdef';
const HEX_BYTES = new TextEncoder().encode(HEX);

/** Decimal digits of an integer (|v| < 2^53) into out at pos. */
function writeInt(v: number, out: Uint8Array, pos: number): number {
  if (v < 0) {
    out[pos++] = 45;
    v = -v;
  }
  if (v < 10) {
    out[pos++] = 48 + v;
    return pos;
  }
  const start = pos;
  while (v > 0) {
    const q = Math.floor(v / 10);
    out[pos++] = 48 + (v - 10 * q);
    v = q;
  }
  for (let a = start, b = pos - 1; a < b; a++, b--) {
    const t = out[a];
    out[a] = out[b];
    out[b] = t;
  }
  return pos;
}

function hex8(h: number): string {
  let s = '';
  for (let i = 28; i >= 0; i -= 4) s += HEX[(h >>> i) & 15];
  return s;
}

/**
 * The planted model. logit = bias + Σ_f σ_f·N(f, value_f) + Σ_(a,b) σ_p·N(pair, value_a, value_b), where N(…) is a
 * hash-derived ≈N(0,1) weight; integer fields enter through their Criteo category floor(ln(v)²). A missing value
 * has its own weight (value 0).
 */
export class CriteoTeacher {
  readonly seed: number;
  readonly card: number[];
  readonly pairs: [number, number][];
  bias = 0;
  private readonly zipf: { sample(rng: Rng): number }[];
  private readonly catScale: Float64Array;
  private readonly catMissing: Float64Array;
  private readonly intScale: Float64Array;
  private readonly intMu: Float64Array;
  private readonly intSigma: Float64Array;
  private readonly pairScale: number;
  private readonly intMissing: number;
  /** Scratch: the ranks (0 = missing) and integers of the current row. */
  readonly ranks: Int32Array;
  readonly ints: Float64Array;

  constructor(o: Required<Omit<GenerateOptions, 'out' | 'probOut' | 'rows' | 'teacherSeed'>>) {
    this.seed = o.seed >>> 0;
    this.card = [...o.cardinalities];
    const nc = this.card.length;
    const rng = new Rng(this.seed ^ 0x5eed);
    this.zipf = this.card.map((n) => zipfSampler(n, o.zipfExponent));
    this.catScale = new Float64Array(nc);
    this.catMissing = new Float64Array(nc);
    for (let f = 0; f < nc; f++) {
      this.catScale[f] = o.signal * (0.09 + 0.27 * rng.next());
      this.catMissing[f] = Math.min(0.95, 2 * o.missingRate * rng.next());
    }
    this.intScale = new Float64Array(13);
    this.intMu = new Float64Array(13);
    this.intSigma = new Float64Array(13);
    for (let i = 0; i < 13; i++) {
      this.intScale[i] = o.signal * (0.06 + 0.18 * rng.next());
      this.intMu[i] = 4 * rng.next();
      this.intSigma[i] = 0.5 + 1.5 * rng.next();
    }
    this.intMissing = o.intMissingRate;
    this.pairs = [];
    for (let p = 0; p < o.pairs && nc >= 2; p++) {
      const a = rng.int(nc);
      let b = rng.int(nc - 1);
      if (b >= a) b++;
      this.pairs.push([Math.min(a, b), Math.max(a, b)]);
    }
    this.pairScale = o.signal * 0.24;
    this.ranks = new Int32Array(nc);
    this.ints = new Float64Array(13);
  }

  /** Draw the features of one row into ranks/ints (NaN = missing) and return the logit without the bias. */
  drawRow(rng: Rng): number {
    const seed = this.seed;
    let z = 0;
    for (let i = 0; i < 13; i++) {
      if (rng.next() < this.intMissing) {
        this.ints[i] = NaN;
        z += this.intScale[i] * hashNormal(mix3(seed, 100 + i, 0x7fffffff));
        continue;
      }
      let v = Math.floor(Math.exp(this.intMu[i] + this.intSigma[i] * rng.normal()));
      if (i === 1) v -= 1; // I2 also takes -1, as in Criteo
      this.ints[i] = v;
      z += this.intScale[i] * hashNormal(mix3(seed, 100 + i, logSquaredBucket(v) + 1000));
    }
    for (let f = 0; f < this.card.length; f++) {
      const k = rng.next() < this.catMissing[f] ? 0 : this.zipf[f].sample(rng);
      this.ranks[f] = k;
      z += this.catScale[f] * hashNormal(mix3(seed, f, k));
    }
    for (let p = 0; p < this.pairs.length; p++) {
      const [a, b] = this.pairs[p];
      z += this.pairScale * hashNormal(mix3(seed ^ 0xabcdef, 1000 + p, Math.imul(this.ranks[a], 0x9e3779b1) ^ this.ranks[b]));
    }
    return z;
  }

  /** The token written for rank k of field f: 8 hex digits of a hash ('' for missing). */
  token(f: number, k: number): string {
    return k === 0 ? '' : hex8(mix3(this.seed ^ 0x70c3, f, k));
  }

  /** The TSV line (without newline) of the row in ranks/ints with this label. */
  formatRow(label: number): string {
    let line = label === 1 ? '1' : '0';
    for (let i = 0; i < 13; i++) line += Number.isNaN(this.ints[i]) ? '\t' : '\t' + this.ints[i];
    for (let f = 0; f < this.card.length; f++) line += '\t' + this.token(f, this.ranks[f]);
    return line;
  }

  /** formatRow + '\n' as ASCII bytes into out at pos; returns the new position (out needs ≥ 512 bytes free). */
  writeRow(label: number, out: Uint8Array, pos: number): number {
    out[pos++] = label === 1 ? 49 : 48;
    for (let i = 0; i < 13; i++) {
      out[pos++] = 9;
      const v = this.ints[i];
      if (!Number.isNaN(v)) pos = writeInt(v, out, pos);
    }
    const seed = this.seed ^ 0x70c3;
    for (let f = 0; f < this.card.length; f++) {
      out[pos++] = 9;
      const k = this.ranks[f];
      if (k === 0) continue;
      const h = mix3(seed, f, k);
      for (let sh = 28; sh >= 0; sh -= 4) out[pos++] = HEX_BYTES[(h >>> sh) & 15];
    }
    out[pos++] = 10;
    return pos;
  }

  /** Set the bias so the mean probability over a pilot sample is ctr (bisection). */
  calibrate(ctr: number, pilotRows = 20000): void {
    const rng = new Rng(this.seed ^ 0xca11b);
    const zs = new Float64Array(pilotRows);
    for (let i = 0; i < pilotRows; i++) zs[i] = this.drawRow(rng);
    let lo = -30;
    let hi = 30;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      let m = 0;
      for (let i = 0; i < pilotRows; i++) m += 1 / (1 + Math.exp(-(mid + zs[i])));
      if (m / pilotRows < ctr) lo = mid;
      else hi = mid;
    }
    this.bias = (lo + hi) / 2;
  }
}

/**
 * Expected AUC of a Bayes-optimal scorer whose scores are the true probabilities p: the chance that a random
 * positive outranks a random negative when labels are Bernoulli(p), ties counted half.
 * = Σ_{i≠j} p_i(1 − p_j)[p_i > p_j] (+½ ties) / (Σ_{i≠j} p_i(1 − p_j)).
 */
export function expectedAuc(probs: ArrayLike<number>): number {
  const n = probs.length;
  const p = Float64Array.from(probs).sort();
  let negBelow = 0; // Σ (1 − p_j) over strictly smaller p_j
  let num = 0;
  let sumP = 0;
  let sumQ = 0;
  let selfPQ = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let tieP = 0;
    let tieQ = 0;
    while (j < n && p[j] === p[i]) {
      tieP += p[j];
      tieQ += 1 - p[j];
      selfPQ += p[j] * (1 - p[j]);
      j++;
    }
    num += tieP * negBelow + 0.5 * (tieP * tieQ - sumSelf(p, i, j));
    negBelow += tieQ;
    sumP += tieP;
    sumQ += tieQ;
    i = j;
  }
  return num / (sumP * sumQ - selfPQ);
}

function sumSelf(p: Float64Array, i: number, j: number): number {
  let s = 0;
  for (let k = i; k < j; k++) s += p[k] * (1 - p[k]);
  return s;
}

/** 26·25/2 field pairs; more terms only repeat pairs (and 10^9 of them exhausted the heap). */
export const MAX_PAIRS = 325;

/** Outputs of this process by their generation settings (not rows): the first output each set of seeds wrote. */
const outputsBySeeds = new Map<string, string>();

function normalizeGenerate(o: GenerateOptions): Required<Omit<GenerateOptions, 'out' | 'probOut' | 'rows'>> {
  for (const k of ['seed', 'teacherSeed'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 4294967295)) throw new ConfigError(`${k} must be an integer in [0, 2^32 − 1], got ${v}`, { key: k });
  }
  if (!Number.isInteger(o.rows) || o.rows < 0) throw new ConfigError(`rows must be a non-negative integer, got ${o.rows}`, { key: 'rows' });
  const card = o.cardinalities ?? CRITEO_KAGGLE_CARDINALITIES;
  if (card.length !== 26) throw new ConfigError(`cardinalities must be 26 positive integers (C1..C26), got ${card.length} values`, { key: 'cardinalities' });
  const badCard = card.findIndex((c) => !Number.isInteger(c) || c < 1 || c > 2 ** 31);
  if (badCard >= 0) throw new ConfigError(`cardinalities: C${badCard + 1} is ${card[badCard]}, must be an integer in [1, 2^31]`, { key: 'cardinalities' });
  const r = {
    seed: o.seed ?? 1,
    teacherSeed: o.teacherSeed ?? 1,
    cardinalities: card,
    zipfExponent: o.zipfExponent ?? 1.1,
    missingRate: o.missingRate ?? 0.05,
    intMissingRate: o.intMissingRate ?? 0.2,
    pairs: o.pairs ?? 4,
    ctr: o.ctr ?? 0.25,
    signal: o.signal ?? 1,
  };
  if (!(r.zipfExponent > 0)) throw new ConfigError(`zipfExponent must be > 0, got ${r.zipfExponent}`, { key: 'zipfExponent' });
  if (!(r.missingRate >= 0 && r.missingRate <= 0.5)) throw new ConfigError(`missingRate must be in [0, 0.5], got ${r.missingRate}`, { key: 'missingRate' });
  if (!(r.intMissingRate >= 0 && r.intMissingRate <= 1)) throw new ConfigError(`intMissingRate must be in [0, 1], got ${r.intMissingRate}`, { key: 'intMissingRate' });
  if (!Number.isInteger(r.pairs) || r.pairs < 0 || r.pairs > MAX_PAIRS) {
    throw new ConfigError(`pairs must be an integer in [0, ${MAX_PAIRS}] (the field pairs of C1..C26), got ${r.pairs}`, { key: 'pairs' });
  }
  if (!(r.ctr > 0 && r.ctr < 1)) throw new ConfigError(`ctr must be in (0, 1), got ${r.ctr}`, { key: 'ctr' });
  if (!(r.signal >= 0)) throw new ConfigError(`signal must be ≥ 0, got ${r.signal}`, { key: 'signal' });
  return r;
}

interface Sink {
  stream: Writable;
  done: Promise<void>;
  /** We opened it (a path), so we end it. */
  owned: boolean;
}

function openSink(target: string | Writable): Sink {
  if (typeof target !== 'string') return { stream: target, done: Promise.resolve(), owned: false };
  // Written in place: until it is complete, an interrupted run must remove it (core/cleanup.ts).
  trackPartial(target, `${target} (incomplete generated data)`);
  const file = createWriteStream(target);
  const failed = new Promise<never>((_, reject) => file.once('error', (e) => reject(ioWriteError(target, e))));
  failed.catch(() => undefined);
  const closed = once(file, 'close').then(() => undefined);
  if (target.endsWith('.gz')) {
    const gz = createGzip({ level: 1 }); // speed over size: the generator is CPU-bound
    gz.pipe(file);
    return { stream: gz, done: Promise.race([closed, failed]), owned: true };
  }
  return { stream: file, done: Promise.race([closed, failed]), owned: true };
}

async function write(sink: Sink, s: string | Uint8Array): Promise<void> {
  if (!sink.stream.write(s)) await once(sink.stream, 'drain');
}

/**
 * Write `rows` Criteo TSV rows (label, I1..I13, C1..C26) and, line for line, each row's true probability.
 *
 * @example
 *   const st = await generateCriteo({ rows: 1_000_000, out: 'synth.tsv', seed: 7 });
 *   // synth.tsv + synth.tsv.prob; st.bayesAuc is the best AUC any model can expect
 */
export async function generateCriteo(options: GenerateOptions): Promise<GenerateStats> {
  const o = normalizeGenerate(options);
  const probTarget = options.probOut === undefined ? (typeof options.out === 'string' ? `${options.out}.prob` : undefined) : options.probOut;
  if (probTarget === undefined) throw new ConfigError('probOut is required when out is a stream (or pass null to skip probabilities)', { key: 'probOut' });
  if (typeof probTarget === 'string' && typeof options.out === 'string' && resolve(probTarget) === resolve(options.out)) {
    throw new ConfigError(`probOut and out are the same file (${options.out}): the probabilities would overwrite the rows`, { key: 'probOut' });
  }
  const warnings: string[] = [];
  // Same teacher and same row seed → the same rows: a test set that repeats the training rows, silently.
  const key = JSON.stringify({ ...o, rows: undefined });
  const earlier = outputsBySeeds.get(key);
  const name = typeof options.out === 'string' ? options.out : 'a stream';
  if (earlier !== undefined && earlier !== name && options.rows > 0) {
    warnings.push(`${name} starts with the same rows as ${earlier} (same seed ${o.seed} and teacherSeed ${o.teacherSeed}): for a train/test pair give each file its own seed and the same teacherSeed`);
  } else if (options.rows > 0) outputsBySeeds.set(key, name);
  const { teacherSeed, ...teacherOpts } = o;
  const teacher = new CriteoTeacher({ ...teacherOpts, seed: teacherSeed });
  teacher.calibrate(o.ctr);
  const rng = new Rng(o.seed);
  const data = openSink(options.out);
  const prob = probTarget === null ? null : openSink(probTarget);
  const sampleN = Math.min(options.rows, 1_000_000);
  const sample = new Float64Array(sampleN);
  const t0 = performance.now();
  let positives = 0;
  let sumP = 0;
  const BATCH = 2048;
  for (let r0 = 0; r0 < options.rows; r0 += BATCH) {
    const r1 = Math.min(options.rows, r0 + BATCH);
    const buf = Buffer.allocUnsafe(512 * (r1 - r0));
    let pos = 0;
    let ptext = '';
    for (let r = r0; r < r1; r++) {
      const p = 1 / (1 + Math.exp(-(teacher.bias + teacher.drawRow(rng))));
      const y = rng.next() < p ? 1 : 0;
      positives += y;
      sumP += p;
      if (r < sampleN) sample[r] = p;
      pos = teacher.writeRow(y, buf, pos);
      if (prob) ptext += p.toPrecision(7) + '\n';
    }
    await write(data, buf.subarray(0, pos));
    if (prob) await write(prob, ptext);
  }
  const ends: Promise<void>[] = [];
  for (const sink of [data, prob]) {
    if (sink === null || !sink.owned) continue;
    sink.stream.end();
    ends.push(sink.done);
  }
  await Promise.all(ends);
  for (const t of [options.out, probTarget]) {
    if (typeof t !== 'string') continue;
    untrackPartial(t);
    recordWritten(t);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    rows: options.rows,
    positives,
    meanProbability: options.rows > 0 ? sumP / options.rows : 0,
    bayesAuc: sampleN > 1 ? expectedAuc(sample) : NaN,
    seconds,
    rowsPerSecond: options.rows / Math.max(seconds, 1e-9),
    warnings,
    bias: teacher.bias,
    pairs: teacher.pairs,
  };
}
