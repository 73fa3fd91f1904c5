// Per-field overrides of the run's embedding method and dim (`--fields FILE`, ModelOptions.fields): one field full with
// its own min count, another hashed at its own ratio, a third 4 wide, the rest as the run says. Only reads and checks the JSON here;
// pipeline.ts applies it after the planner. Every message names the file, the field and the key.

import { readFileSync } from 'node:fs';
import { ConfigError, IoError } from '../core/errors.js';
import type { IndexMethod } from '../embedding/config.js';

export const OVERRIDE_METHODS: readonly IndexMethod[] = ['full', 'hash', 'qr', 'dhash', 'bh', 'hybrid'];
const KEYS = ['method', 'minCount', 'compression', 'dim'] as const;
/** The largest dim a field may ask for (as --dim). */
export const MAX_FIELD_DIM = 4096;

/** One field's override. Plain JSON. */
export interface FieldOverride {
  /** This field's table method instead of the run's. */
  method?: IndexMethod;
  /** Full tables: values seen fewer times share the OOV row. @default the run's minCount */
  minCount?: number;
  /** Compressed methods: this field's fullRows / rows. @default the run's --compression */
  compression?: number;
  /** This field's embedding width (dnn, wdl, dcnv2; fm and deepfm need one dim for all). @default the run's --dim */
  dim?: number;
}

/** Overrides by field name (the data's field names: C1…C26 for Criteo, a schema's column names, f0… for libsvm). */
export type FieldOverrides = Record<string, FieldOverride>;

/**
 * Check overrides (from a file or code): an object of field name → { method?, minCount?, compression?, dim? }, nothing else.
 * `where` names the source in messages (the file path).
 */
export function checkFieldOverrides(raw: unknown, where: string): FieldOverrides {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: must be a JSON object of field name → { "method", "minCount", "compression", "dim" }, e.g. {"C3": {"method": "full", "minCount": 10, "dim": 4}}`, { file: where, key: 'fields' });
  }
  const out: FieldOverrides = {};
  for (const [field, o] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${where}: field '${field}'`;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError(`${at}: must be an object with ${KEYS.join(', ')}`, { file: where, field });
    const r: FieldOverride = {};
    for (const [key, v] of Object.entries(o as Record<string, unknown>)) {
      if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(`${at}: unknown key '${key}' (allowed: ${KEYS.join(', ')})`, { file: where, field, key });
      if (key === 'method') {
        if (typeof v !== 'string' || !OVERRIDE_METHODS.includes(v as IndexMethod)) throw new ConfigError(`${at}: key 'method': ${JSON.stringify(v)} is not one of ${OVERRIDE_METHODS.join(', ')}`, { file: where, field, key });
        r.method = v as IndexMethod;
      } else if (key === 'dim') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_FIELD_DIM) throw new ConfigError(`${at}: key 'dim': must be an integer in [1, ${MAX_FIELD_DIM}], got ${JSON.stringify(v)}`, { file: where, field, key });
        r.dim = v;
      } else if (key === 'minCount') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${at}: key 'minCount': must be an integer ≥ 1, got ${JSON.stringify(v)}`, { file: where, field, key });
        r.minCount = v;
      } else {
        if (typeof v !== 'number' || !(v >= 1) || !Number.isFinite(v)) throw new ConfigError(`${at}: key 'compression': must be a number ≥ 1, got ${JSON.stringify(v)}`, { file: where, field, key });
        r.compression = v;
      }
    }
    if (r.minCount !== undefined && r.method !== undefined && r.method !== 'full') throw new ConfigError(`${at}: key 'minCount' applies to method 'full' only, not '${r.method}'`, { file: where, field, key: 'minCount' });
    if (r.compression !== undefined && r.method === 'full') throw new ConfigError(`${at}: key 'compression' applies to compressed methods, not 'full'`, { file: where, field, key: 'compression' });
    out[field] = r;
  }
  return out;
}

/** Read and check a `--fields` JSON file. */
export function readFieldOverrides(path: string): FieldOverrides {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IoError(`--fields ${path}: cannot read (${(e as Error).message})`, { file: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`, { file: path });
  }
  return checkFieldOverrides(raw, path);
}
