// Parsers for command-line option values shared by the commands. Each failure is a UsageError that names the
// option and what it accepts, so the CLI exits 2 with one clear line.

import { UsageError } from '../core/errors.js';

/** '4MB' → 4194304, '512k' → 524288, '1.5GiB', '1000' (bytes). Binary units (1 KB = 1024 B). */
export function parseSize(option: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${option}: '${text}' is not a size (examples: 4MB, 512KB, 1.5GB, 100000)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = Math.floor(Number(m[1]) * mult);
  if (!(v > 0)) throw new UsageError(`${option}: size must be positive, got '${text}'`);
  return v;
}

export function parseIntOpt(option: string, text: string, min = -Infinity, max = Infinity): number {
  if (!/^[-+]?\d+$/.test(text.trim())) throw new UsageError(`${option}: '${text}' is not an integer`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw new UsageError(`${option}: '${text}' is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  if (v < min || v > max) throw new UsageError(`${option}: ${v} is out of range (${min === -Infinity ? '' : `${min} ≤ `}value${max === Infinity ? '' : ` ≤ ${max}`})`);
  return v;
}

const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

export function parseFloatOpt(option: string, text: string, min = -Infinity, max = Infinity, exclusiveMin = false): number {
  const v = Number(text);
  // decimal only: Number() also reads '0x10' (16) and '0b1'
  if (!DECIMAL.test(text) || !Number.isFinite(v)) throw new UsageError(`${option}: '${text}' is not a number`);
  if (v < min || (exclusiveMin && v === min) || v > max) {
    throw new UsageError(`${option}: ${v} is out of range (must be ${exclusiveMin ? '>' : '≥'} ${min}${max === Infinity ? '' : ` and ≤ ${max}`})`);
  }
  return v;
}

export function parseChoice<T extends string>(option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${option}: '${text}' is not supported. Should be one of: ${allowed.join(', ')}`);
  }
  return text as T;
}

/** 'a,b, c' → ['a', 'b', 'c'] (empty items dropped). */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Throw when a required option is missing. */
export function required<T>(option: string, v: T | undefined): T {
  if (v === undefined || v === null || (v as unknown) === '') throw new UsageError(`${option} is required`);
  return v;
}

/** Throw when a list option names one value twice (a sweep would train the same cell again and count it twice). */
export function noDuplicates<T>(option: string, list: readonly T[]): T[] {
  const seen = new Set<T>();
  for (const v of list) {
    if (seen.has(v)) throw new UsageError(`${option}: ${String(v)} is given twice`);
    seen.add(v);
  }
  return [...list];
}
