// The small JSON schema that tells the csv/tsv and parquet readers which column is the label and what each other
// column becomes (category, dense number, bucketized number, multi-valued bag). Validation names the bad key.

import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { ioFromErrno } from './source.js';

/**
 * A numeric column. 'dense' sends the value (optionally log1p) to the dense block; 'bucket' turns it into a
 * category: the index of the first boundary > v (boundaries ascending), or without boundaries Criteo's rule
 * v > 2 → floor(ln(v)²), else v (integer part).
 */
export interface NumericColumn {
  name: string;
  /** @default 'dense' */
  mode?: 'dense' | 'bucket';
  /** dense only. 'log1p' maps v to log(1 + max(v, 0)). @default 'none' */
  transform?: 'none' | 'log1p';
  /** bucket only: ascending cut points. */
  boundaries?: number[];
}

/** A multi-valued column: "a|b|c" → values a, b, c of one field, fused by sum or mean (mean → weights 1/n). */
export interface MultiColumn {
  name: string;
  /** One character. @default '|' */
  separator?: string;
  /** @default 'mean' */
  pooling?: 'mean' | 'sum';
}

/**
 * @example
 *   { "label": "click", "categorical": ["site", "app"], "numeric": ["price", {"name": "age", "mode": "bucket",
 *     "boundaries": [18, 30, 50]}], "multi": [{"name": "tags", "separator": "|", "pooling": "mean"}] }
 */
export interface TableSchema {
  /** csv only; one character. @default ',' for csv, '\t' for tsv */
  delimiter?: string;
  /** First line names the columns. false: columns are named "0", "1", … by position. @default true */
  header?: boolean;
  /** Label column, values 0/1 (also -1 → 0, true/false). */
  label: string;
  categorical?: string[];
  numeric?: (string | NumericColumn)[];
  multi?: MultiColumn[];
}

export interface NormalizedSchema {
  delimiter: string | undefined;
  header: boolean;
  label: string;
  categorical: string[];
  numeric: NormalizedNumeric[];
  multi: Required<MultiColumn>[];
}

export interface NormalizedNumeric {
  name: string;
  mode: 'dense' | 'bucket';
  transform: 'none' | 'log1p';
  boundaries: number[] | null;
}

function bad(key: string, msg: string): ConfigError {
  const k = key === '' ? 'schema' : `schema.${key}`;
  return new ConfigError(`${k}: ${msg}`, { key: k });
}

const NUMERIC_KEYS = ['name', 'mode', 'transform', 'boundaries'];
const MULTI_KEYS = ['name', 'separator', 'pooling'];

/**
 * A misspelt key inside a column entry ("sep" for "separator", "mdoe") would silently fall back to the default
 * and train different features; refuse it like an unknown top-level key, with a close known key as the hint.
 */
function unknownKeys(o: Record<string, unknown>, known: readonly string[], key: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = known.find((n) => n.startsWith(k) || editDistance(n, k) <= 2);
    throw bad(`${key}.${k}`, `unknown key${near !== undefined ? ` (did you mean '${near}'?)` : ''}; allowed keys: ${known.join(', ')}`);
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

function strList(v: unknown, key: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(key, 'must be an array of column names');
  return v as string[];
}

export function normalizeSchema(raw: unknown): NormalizedSchema {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('', 'must be a JSON object');
  const s = raw as Record<string, unknown>;
  const known = new Set(['delimiter', 'header', 'label', 'categorical', 'numeric', 'multi']);
  for (const k of Object.keys(s)) if (!known.has(k)) throw bad(k, `unknown key; allowed keys: ${[...known].join(', ')}`);
  if (typeof s.label !== 'string' || s.label === '') throw bad('label', 'required: the name of the label column');
  if (s.delimiter !== undefined && (typeof s.delimiter !== 'string' || s.delimiter.length !== 1)) throw bad('delimiter', 'must be one character');
  if (s.header !== undefined && typeof s.header !== 'boolean') throw bad('header', 'must be true or false');
  const categorical = strList(s.categorical, 'categorical');
  if (s.numeric !== undefined && !Array.isArray(s.numeric)) throw bad('numeric', 'must be an array');
  const numeric: NormalizedNumeric[] = ((s.numeric as unknown[] | undefined) ?? []).map((n, i) => {
    const o = typeof n === 'string' ? { name: n } : (n as Record<string, unknown>);
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string') throw bad(`numeric[${i}]`, 'must be a column name or {name, mode, …}');
    unknownKeys(o, NUMERIC_KEYS, `numeric[${i}]`);
    const mode = o.mode ?? 'dense';
    if (mode !== 'dense' && mode !== 'bucket') throw bad(`numeric[${i}].mode`, `must be one of: 'dense', 'bucket' (got '${String(mode)}')`);
    const transform = o.transform ?? 'none';
    if (transform !== 'none' && transform !== 'log1p') throw bad(`numeric[${i}].transform`, `must be one of: 'none', 'log1p'`);
    let boundaries: number[] | null = null;
    if (o.boundaries !== undefined) {
      const b = o.boundaries;
      if (!Array.isArray(b) || b.some((x) => typeof x !== 'number' || !Number.isFinite(x)) || b.some((x, j) => j > 0 && x <= b[j - 1])) {
        throw bad(`numeric[${i}].boundaries`, 'must be an ascending array of finite numbers');
      }
      boundaries = b as number[];
    }
    return { name: o.name as string, mode, transform, boundaries };
  });
  if (s.multi !== undefined && !Array.isArray(s.multi)) throw bad('multi', 'must be an array');
  const multi = ((s.multi as unknown[] | undefined) ?? []).map((m, i) => {
    const o = m as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string') throw bad(`multi[${i}]`, 'must be {name, separator, pooling}');
    unknownKeys(o, MULTI_KEYS, `multi[${i}]`);
    const separator = o.separator ?? '|';
    if (typeof separator !== 'string' || separator.length !== 1) throw bad(`multi[${i}].separator`, 'must be one character');
    const pooling = o.pooling ?? 'mean';
    if (pooling !== 'mean' && pooling !== 'sum') throw bad(`multi[${i}].pooling`, `must be one of: 'mean', 'sum' (got '${String(pooling)}')`);
    return { name: o.name as string, separator, pooling };
  });
  const all = [s.label as string, ...categorical, ...numeric.map((n) => n.name), ...multi.map((m) => m.name)];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c)) throw bad('', `column '${c}' is used twice`);
    seen.add(c);
  }
  if (all.length === 1) throw bad('', 'no feature columns: give at least one of categorical, numeric, multi');
  return {
    delimiter: s.delimiter as string | undefined,
    header: (s.header as boolean | undefined) ?? true,
    label: s.label as string,
    categorical,
    numeric,
    multi: multi as Required<MultiColumn>[],
  };
}

/** A schema object, or the path of its JSON file. */
export async function loadSchema(schema: TableSchema | string | undefined): Promise<NormalizedSchema> {
  if (schema === undefined) throw new ConfigError('schema is required for csv/tsv: {"label": …, "categorical": […], …}', { key: 'schema' });
  if (typeof schema !== 'string') return normalizeSchema(schema);
  let text: string;
  try {
    text = await readFile(schema, 'utf8');
  } catch (e) {
    throw ioFromErrno(schema, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${schema}: not valid JSON (${(e as Error).message})`, { key: 'schema' });
  }
  return normalizeSchema(parsed);
}

export { bucketIndex } from './tokens.js';
