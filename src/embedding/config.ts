// Plain-JSON descriptions of each embedding method's index (one type per method, one union).
// These survive postMessage, model files and CLI JSON. Implementations live in one file per method.

import { ConfigError } from '../core/errors.js';

export type BhStrategy = 'succession' | 'skip';

/** Binary Code based Hash Embedding (Yan et al., CIKM 2021). */
export interface BhSpec {
  method: 'bh';
  /** Code length S in bits, 1–64. In dense mode, the bits the largest id needs. */
  codeBits: number;
  /** Block length t in bits, ≥ 1. K = ceil(S / t) blocks. */
  blockBits: number;
  strategy: BhStrategy;
  /** true: ids are dense integers already (code = id), no hashing. @default false */
  dense?: boolean;
}

/** Full embedding: a vocabulary of hash ids seen at least minCount times; row 0 is OOV. */
export interface FullSpec {
  method: 'full';
  minCount: number;
  /** The vocabulary as 16-hex-digit hash ids, in row order starting at row 1. */
  vocab: string[];
}

/** The hashing trick: row = h mod R. */
export interface HashSpec {
  method: 'hash';
  rows: number;
}

/** Quotient-remainder (Shi et al., KDD 2020): rows (h mod m) and m + (floor(h / m) mod q). */
export interface QrSpec {
  method: 'qr';
  /** Remainder table size m. */
  remainder: number;
  /** Quotient table size q. */
  quotient: number;
}

/** Double hashing (Zhang et al., 2020): k independent hashes of h, each mod R, into one table of R rows. */
export interface DoubleHashSpec {
  method: 'dhash';
  rows: number;
  hashes: number;
}

/**
 * Frequency-aware hybrid (issue 13; after CAFE, Zhang et al., SIGMOD 2024: hot features get embeddings of their own,
 * the rest share): the hot values listed in `hot` own one row each (rows 0 … H − 1), every other value, new ids
 * included, goes through the cold part, whose rows follow them. The cold part is BH (HybridBhSpec: `cold` absent or
 * 'bh', the only form before cold parts could share rows) or double hashing into one shared table (HybridDhashSpec:
 * `cold: 'dhash'`, for budgets of a few rows per field, where two hashes into R shared rows tell more values apart than
 * BH's disjoint blocks can; see embedding/hybrid-planner.ts).
 */
export type HybridSpec = HybridBhSpec | HybridDhashSpec;

/** Hybrid with a BH cold part: rows H … H + Σ_k 2^width_k − 1. */
export interface HybridBhSpec {
  method: 'hybrid';
  /** The hot values as 16-hex-digit hash ids, in row order from row 0 (most frequent first when built from data). */
  hot: string[];
  /** Absent in files written before shared cold parts existed; normalizeIndexSpec leaves it out. */
  cold?: 'bh';
  /** BH code length S of the cold part, 1–64. */
  codeBits: number;
  /** BH block length t of the cold part. K = ceil(S / t) rows per value. */
  blockBits: number;
  strategy: BhStrategy;
}

/** Hybrid with a double-hashing cold part: k hashed rows per value in rows H … H + R − 1 (the dhash spec's rows). */
export interface HybridDhashSpec {
  method: 'hybrid';
  hot: string[];
  cold: 'dhash';
  /** Rows R of the shared cold table. */
  rows: number;
  /** Hashes k per value (rows per value). */
  hashes: number;
}

/** The cold part of a hybrid spec as a spec of its own method (rows from 0). */
export function hybridColdSpec(s: HybridSpec): BhSpec | DoubleHashSpec {
  return s.cold === 'dhash'
    ? { method: 'dhash', rows: s.rows, hashes: s.hashes }
    : { method: 'bh', codeBits: s.codeBits, blockBits: s.blockBits, strategy: s.strategy, dense: false };
}

export type IndexSpec = BhSpec | FullSpec | HashSpec | QrSpec | DoubleHashSpec | HybridSpec;
export type IndexMethod = IndexSpec['method'];

/** The methods, in the order the CLI and docs list them. */
export const INDEX_METHODS: readonly IndexMethod[] = ['bh', 'full', 'hash', 'qr', 'dhash', 'hybrid'];

/** Bytes one hot key takes in memory and in the budget: the 64-bit hash id. */
export const HOT_KEY_BYTES = 8;

/** Rows are int32 in every batch buffer, so a table holds at most 2^31 − 1 rows. */
export const MAX_TABLE_ROWS = 2147483647;

/**
 * Bits held by each BH block (Yan et al. 2021, §2, "code block strategy"). K = ceil(S / t).
 * succession: block k holds code bits k·t … min(S, (k+1)·t) − 1, so width_k = min(t, S − k·t).
 * skip: block k holds code bits k, k + K, k + 2K, … (< S), so width_k = ceil((S − k) / K).
 */
export function bhBlockWidths(codeBits: number, blockBits: number, strategy: BhStrategy): number[] {
  const k = Math.ceil(codeBits / blockBits);
  const widths: number[] = [];
  for (let b = 0; b < k; b++) {
    widths.push(strategy === 'succession' ? Math.min(blockBits, codeBits - b * blockBits) : Math.ceil((codeBits - b) / k));
  }
  return widths;
}

/** Table rows of a BH index: Σ_k 2^width_k (may exceed MAX_TABLE_ROWS; normalizeIndexSpec rejects that). */
export function bhNumRows(codeBits: number, blockBits: number, strategy: BhStrategy): number {
  let rows = 0;
  for (const w of bhBlockWidths(codeBits, blockBits, strategy)) rows += 2 ** w;
  return rows;
}

/** Bits a dense id space 0 … cardinality − 1 needs (at least 1): the BH code length in dense mode. */
export function denseCodeBits(cardinality: number): number {
  if (!Number.isInteger(cardinality) || cardinality < 1) {
    throw new ConfigError(`cardinality must be a positive integer, got ${cardinality}`, { key: 'cardinality', value: cardinality });
  }
  let bits = 1;
  while (2 ** bits < cardinality) bits++;
  return bits;
}

const BH_STRATEGIES: readonly BhStrategy[] = ['succession', 'skip'];
const HEX64 = /^[0-9a-f]{16}$/;

function intIn(o: Record<string, unknown>, key: string, where: string, lo: number, hi: number, hint = ''): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ConfigError(`${where}.${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}${hint}`, {
      key: `${where}.${key}`,
      value: v,
      allowed: [lo, hi],
    });
  }
  return v;
}

function rowsCheck(rows: number, where: string, hint: string): void {
  if (rows > MAX_TABLE_ROWS) {
    throw new ConfigError(`${where} needs ${rows} rows, more than the int32 limit ${MAX_TABLE_ROWS}; ${hint}`, { key: where, rows });
  }
}

/**
 * Check a JSON value is a valid IndexSpec and return it normalized (defaults filled, unknown keys dropped).
 * Throws ConfigError naming the key (prefixed by `where`) and the allowed values.
 */

/** A BH code layout (bh and hybrid specs): codeBits, blockBits and strategy, checked. */
function bhCode(o: Record<string, unknown>, where: string): { codeBits: number; blockBits: number; strategy: BhStrategy } {
  const codeBits = intIn(o, 'codeBits', where, 1, 64);
  const blockBits = intIn(o, 'blockBits', where, 1, 64);
  const strategy = o.strategy ?? 'succession';
  if (typeof strategy !== 'string' || !BH_STRATEGIES.includes(strategy as BhStrategy)) {
    throw new ConfigError(`${where}.strategy must be one of: ${BH_STRATEGIES.join(', ')}; got ${JSON.stringify(o.strategy)}`, {
      key: `${where}.strategy`,
      value: o.strategy,
      allowed: BH_STRATEGIES,
    });
  }
  return { codeBits, blockBits, strategy: strategy as BhStrategy };
}

/** o[key] as a list of 64-bit hash ids in 16 lower-case hex digits (full's vocab, hybrid's hot keys). */
function hexIds(o: Record<string, unknown>, key: string, where: string): string[] {
  const ids = o[key];
  if (!Array.isArray(ids)) throw new ConfigError(`${where}.${key} must be an array of 16-hex-digit hash ids`, { key: `${where}.${key}` });
  for (let i = 0; i < ids.length; i++) {
    const h = ids[i];
    if (typeof h !== 'string' || !HEX64.test(h)) {
      throw new ConfigError(`${where}.${key}[${i}] must be 16 lower-case hex digits, got ${JSON.stringify(h)}`, { key: `${where}.${key}[${i}]` });
    }
  }
  return ids as string[];
}

export function normalizeIndexSpec(raw: unknown, where = 'index'): IndexSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where} must be an object with a "method" key`, { key: where });
  }
  const o = raw as Record<string, unknown>;
  switch (o.method) {
    case 'bh': {
      const { codeBits, blockBits, strategy } = bhCode(o, where);
      if (o.dense !== undefined && typeof o.dense !== 'boolean') {
        throw new ConfigError(`${where}.dense must be true or false, got ${JSON.stringify(o.dense)}`, { key: `${where}.dense` });
      }
      const rows = bhNumRows(codeBits, blockBits, strategy);
      rowsCheck(rows, `${where} (bh codeBits=${codeBits} blockBits=${blockBits} ${strategy})`, 'use a smaller blockBits (t ≤ 30 and Σ 2^width_k < 2^31)');
      return { method: 'bh', codeBits, blockBits, strategy: strategy, dense: o.dense === true };
    }
    case 'full': {
      const minCount = o.minCount === undefined ? 1 : intIn(o, 'minCount', where, 1, Number.MAX_SAFE_INTEGER);
      if (!Array.isArray(o.vocab)) throw new ConfigError(`${where}.vocab must be an array of 16-hex-digit hash ids`, { key: `${where}.vocab` });
      rowsCheck(o.vocab.length + 1, `${where} (full)`, 'raise minCount');
      return { method: 'full', minCount, vocab: hexIds(o, 'vocab', where) };
    }
    case 'hash':
      return { method: 'hash', rows: intIn(o, 'rows', where, 1, MAX_TABLE_ROWS) };
    case 'qr': {
      const remainder = intIn(o, 'remainder', where, 1, MAX_TABLE_ROWS);
      const quotient = intIn(o, 'quotient', where, 1, MAX_TABLE_ROWS);
      rowsCheck(remainder + quotient, `${where} (qr remainder + quotient)`, 'use smaller remainder/quotient');
      return { method: 'qr', remainder, quotient };
    }
    case 'dhash':
      return { method: 'dhash', rows: intIn(o, 'rows', where, 1, MAX_TABLE_ROWS), hashes: intIn(o, 'hashes', where, 1, 64) };
    case 'hybrid': {
      const hotIds = hexIds(o, 'hot', where);
      if (o.cold === 'dhash') {
        const rows = intIn(o, 'rows', where, 1, MAX_TABLE_ROWS);
        const hashes = intIn(o, 'hashes', where, 1, 64);
        rowsCheck(hotIds.length + rows, `${where} (hybrid hot + dhash rows)`, 'use fewer hot values or fewer rows');
        return { method: 'hybrid', hot: hotIds, cold: 'dhash', rows, hashes };
      }
      if (o.cold !== undefined && o.cold !== 'bh') {
        throw new ConfigError(`${where}.cold must be one of: bh, dhash; got ${JSON.stringify(o.cold)}`, { key: `${where}.cold`, value: o.cold, allowed: ['bh', 'dhash'] });
      }
      const { codeBits, blockBits, strategy } = bhCode(o, where);
      rowsCheck(hotIds.length + bhNumRows(codeBits, blockBits, strategy), `${where} (hybrid hot + bh rows)`, 'use fewer hot values or a smaller blockBits');
      return { method: 'hybrid', hot: hotIds, codeBits, blockBits, strategy };
    }
    default:
      throw new ConfigError(`${where}.method must be one of: ${INDEX_METHODS.join(', ')}; got ${JSON.stringify(o.method)}`, {
        key: `${where}.method`,
        value: o.method,
        allowed: INDEX_METHODS,
      });
  }
}
