// Raw values → hash ids and dense inputs exactly as the data readers of the model's training format make them
// (docs/index-spec.md §4), from the reader settings a model file records. No file system: the browser bundle runs it.
// It must never drift from src/data/: test/browser/web.test.ts compares it with the readers on the same rows.

import { ConfigError } from '../core/errors.js';
import { xxh64Bytes } from '../hash/xxh64.js';
import { bucketIndex, logSquaredBucket } from '../data/tokens.js';
import { ignoresValueWeights } from '../models/model-codec.js';

/** One raw value: text (or a number, written in decimal), a list for multi-valued fields, null/undefined = missing. */
export type RawValue = string | number | null | undefined | readonly (string | number)[];

/** How one field's raw value becomes its text before hashing. */
export interface FieldRule {
  name: string;
  /** XXH64 seed: the field's position. */
  seed: number;
  /** text: hashed as written; int: Criteo's integer rule (v > 2 → ⌊ln(v)²⌋, else v); bucket: index among boundaries. */
  kind: 'text' | 'int' | 'bucket';
  boundaries: number[] | null;
  /** Multi-valued: a string is split at this character (a list is taken as is); null when single-valued. */
  separator: string | null;
  /** libsvm/libfm/libffm: each value is written `idx:val`; idx is hashed, val is the value's weight. */
  weighted: boolean;
  /**
   * A weighted field's weights reach the model. false for a libsvm/libfm/libffm model file from bhembed 0.1.0
   * (no `valueWeights` in its reader settings: trained with every weight 1): `val` is checked, the model gets 1.
   */
  valueWeights: boolean;
}

/** How one dense input's raw value becomes its float. */
export interface DenseRule {
  name: string;
  /** none: v; log1p: log(1 + max(v, 0)) (csv); log1p-positive: v > 0 ? log(1 + v) : 0 (criteo). Missing → 0. */
  transform: 'none' | 'log1p' | 'log1p-positive';
}

export interface RawRules {
  format: string;
  fields: FieldRule[];
  dense: DenseRule[];
}

interface SchemaLike {
  categorical?: unknown;
  numeric?: unknown;
  multi?: unknown;
}

/** The rules for a model file's fields, from its `meta.data` (format, reader settings, field and dense names). */
export function rawRules(meta: Record<string, unknown>, fieldNames: readonly string[], numDense: number): RawRules {
  const data = (meta.data ?? {}) as { format?: unknown; reader?: Record<string, unknown>; denseNames?: unknown };
  const format = typeof data.format === 'string' ? data.format : 'csv';
  const reader = data.reader ?? {};
  const denseNames = Array.isArray(data.denseNames) ? (data.denseNames as string[]) : Array.from({ length: numDense }, (_, i) => `d${i}`);
  const valueWeights = !ignoresValueWeights(meta);
  const text = (name: string, seed: number, separator: string | null = null, weighted = false): FieldRule => ({ name, seed, kind: 'text', boundaries: null, separator, weighted, valueWeights: weighted && valueWeights });
  if (format === 'criteo') {
    const dense = reader.numeric === 'dense';
    return {
      format,
      fields: fieldNames.map((n, i) => (!dense && /^I\d+$/.test(n) ? { name: n, seed: i, kind: 'int', boundaries: null, separator: null, weighted: false, valueWeights: false } : text(n, i))),
      dense: denseNames.map((name) => ({ name, transform: 'log1p-positive' })),
    };
  }
  if (format === 'libffm') return { format, fields: fieldNames.map((n, i) => text(n, i, ' ', true)), dense: [] };
  if (format === 'libsvm' || format === 'libfm') return { format, fields: fieldNames.map((n, i) => text(n, i, null, true)), dense: [] };
  if (format === 'csv' || format === 'tsv' || format === 'parquet') {
    const schema = (typeof reader.schema === 'object' && reader.schema !== null ? reader.schema : {}) as SchemaLike;
    const numeric = new Map<string, { mode?: string; transform?: string; boundaries?: number[] }>();
    for (const c of Array.isArray(schema.numeric) ? schema.numeric : []) {
      if (typeof c === 'string') numeric.set(c, {});
      else if (typeof c === 'object' && c !== null) numeric.set(String((c as { name?: unknown }).name), c as { mode?: string });
    }
    const multi = new Map<string, string>();
    for (const m of Array.isArray(schema.multi) ? schema.multi : []) multi.set(String((m as { name?: unknown }).name), String((m as { separator?: unknown }).separator ?? '|'));
    return {
      format,
      fields: fieldNames.map((n, i): FieldRule => {
        const num = numeric.get(n);
        if (num?.mode === 'bucket') return { name: n, seed: i, kind: 'bucket', boundaries: Array.isArray(num.boundaries) ? num.boundaries : null, separator: null, weighted: false, valueWeights: false };
        return text(n, i, multi.get(n) ?? null);
      }),
      dense: denseNames.map((name) => ({ name, transform: numeric.get(name)?.transform === 'log1p' ? 'log1p' : 'none' })),
    };
  }
  // avazu: every field hashes its cell as written.
  return { format, fields: fieldNames.map((n, i) => text(n, i)), dense: [] };
}

const ENCODER = new TextEncoder();

function numberOf(v: string | number, what: string, integer: boolean): number {
  const x = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new ConfigError(`${what}: ${JSON.stringify(v)} is not ${integer ? 'an integer' : 'a number'}`, { key: what });
  return x;
}

/** The text a single raw value is hashed as (the reader's rule for its column). */
export function valueText(rule: FieldRule, v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  if (rule.kind === 'int') return String(logSquaredBucket(numberOf(v, rule.name, true)));
  if (rule.kind === 'bucket') {
    const x = numberOf(v, rule.name, false);
    return String(rule.boundaries !== null ? bucketIndex(x, rule.boundaries) : logSquaredBucket(Math.floor(x)));
  }
  return typeof v === 'number' ? String(v) : v;
}

/** The texts of a field's raw value: one for a single-valued field, the split or listed values of a multi-valued one. */
export function valueTexts(rule: FieldRule, v: RawValue): string[] {
  if (Array.isArray(v)) {
    if (rule.separator === null) throw new ConfigError(`${rule.name}: a list was given for a single-valued field`, { key: rule.name });
    return v.map((x) => valueText(rule, x as string | number));
  }
  const one = v as string | number | null | undefined;
  // The readers split a multi-valued cell at its separator; an empty cell is one empty value.
  if (rule.separator !== null) return (one === null || one === undefined ? '' : String(one)).split(rule.separator);
  return [valueText(rule, one)];
}

/**
 * A weighted field's value `idx:val` as the text to hash (idx) and its weight (val); a missing value is "" with
 * weight 1, as the readers fill absent features.
 */
export function splitWeighted(rule: FieldRule, text: string): { text: string; weight: number } {
  if (text === '') return { text: '', weight: 1 };
  const colon = text.indexOf(':');
  if (colon <= 0) throw new ConfigError(`${rule.name}: value ${JSON.stringify(text)} is not idx:val`, { key: rule.name });
  const weight = Number(text.slice(colon + 1));
  if (!Number.isFinite(weight) || text.slice(colon + 1).trim() === '') throw new ConfigError(`${rule.name}: value ${JSON.stringify(text)}: val is not a number`, { key: rule.name });
  return { text: text.slice(0, colon), weight };
}

/** XXH64 of text with the field's seed into ids[2·at], ids[2·at + 1] (low, high word). */
export function hashText(rule: FieldRule, text: string, ids: Uint32Array, at: number): void {
  const b = ENCODER.encode(text);
  xxh64Bytes(b, 0, b.length, rule.seed, ids, at);
}

/** The float a dense input's raw value becomes. */
export function denseValue(rule: DenseRule, v: string | number | null | undefined): number {
  if (v === null || v === undefined || v === '') return 0;
  const x = numberOf(v, rule.name, false);
  if (rule.transform === 'log1p') return Math.log1p(Math.max(x, 0));
  if (rule.transform === 'log1p-positive') return x > 0 ? Math.log1p(x) : 0;
  return x;
}
