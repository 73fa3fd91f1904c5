// Readers for sparse text formats: libsvm/libfm (`label idx[:val] …`, field = token position) and libffm
// (`label field:idx:val …`, field given, several values per field allowed). The hashed value is the idx token.

import { ConfigError } from '../core/errors.js';
import { xxh64Bytes } from '../hash/xxh64.js';
import type { ChunkBuilder, FieldInfo } from './chunk.js';
import { LINE_OK } from './lines.js';
import type { DataFormat, DataReader, ReaderOptions } from './reader.js';
import { STDIN, checkInput, displayName } from './source.js';
import { FLOAT32_MAX, parseFloatBytes, parseIntBytes, quote } from './tokens.js';
import { TextReader, noIdColumn, noWeightColumn, normalizeCommon, openLines, readHeader } from './text-reader.js';
import type { LineParser, NormalizedCommon } from './text-reader.js';

/** libsvm labels: 1 or +1 → 1; 0 or -1 → 0 (also written as 1.0, -1.0). Anything else → -1. */
function svmLabel(buf: Uint8Array, s: number, e: number): number {
  const v = parseFloatBytes(buf, s, e);
  if (v === 1) return 1;
  if (v === 0 || v === -1) return 0;
  return -1;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Largest value of `measure` over all lines of a file (the scan that finds numFields when it is not given). */
async function scanMax(path: string, maxLineBytes: number, measure: (buf: Uint8Array, s: number, e: number) => number): Promise<number> {
  const lines = await openLines(path, maxLineBytes);
  let max = 0;
  try {
    for await (const b of lines) {
      for (let i = 0; i < b.count; i++) {
        if (b.flags[i] !== LINE_OK) continue;
        const m = measure(b.buf, b.starts[i], b.ends[i]);
        if (m > max) max = m;
      }
    }
  } finally {
    await lines.return(undefined);
  }
  return max;
}

function countTokens(buf: Uint8Array, s: number, e: number): number {
  let n = 0;
  let inTok = false;
  for (let i = s; i < e; i++) {
    const sp = isSpace(buf[i]);
    if (!sp && !inTok) n++;
    inTok = !sp;
  }
  return n;
}

/** Why a token without `idx:val` form is refused: most often another format read as libsvm. */
function notIdxVal(buf: Uint8Array, start: number, end: number, what: string): string {
  const tab = buf.subarray(start, end).indexOf(9) >= 0;
  return `${what} is not index:value${tab ? ' (the line is tab-separated: is this a Criteo or TSV file? use --format criteo or tsv)' : ''}`;
}

/** Shape checks shared by the sparse parsers: the fewest features a row may have, and the fewest seen. */
class ShapeCount {
  minSeen = Infinity;
  constructor(readonly minFeatures: number) {}
  reset(): void {
    this.minSeen = Infinity;
  }
}

class SvmParser implements LineParser {
  kind = '';
  reason = '';
  private readonly emptyIds: Uint32Array;

  /** @param weights false: the chunk's fields carry no weights (ReaderOptions.valueWeights false); val is still checked. */
  constructor(
    private readonly numFields: number,
    private readonly hasLabel: boolean,
    readonly shape: ShapeCount,
    private readonly weights = true,
  ) {
    this.emptyIds = new Uint32Array(2 * numFields);
    for (let f = 0; f < numFields; f++) xxh64Bytes(new Uint8Array(0), 0, 0, f, this.emptyIds, f);
  }

  reset(): void {
    this.shape.reset();
  }

  parse(buf: Uint8Array, start: number, end: number, b: ChunkBuilder): boolean {
    const row = b.rows;
    let i = start;
    if (this.hasLabel) {
      while (i < end && !isSpace(buf[i])) i++;
      const label = svmLabel(buf, start, i);
      if (label < 0) {
        const colon = buf.subarray(start, i).indexOf(58) >= 0;
        return this.fail('label', `label ${quote(buf, start, i)} is not 0/1 or -1/+1${colon ? ' (it looks like a feature: are the rows unlabelled? `bhembed predict` detects that)' : ''}`);
      }
      b.labels[row] = label;
    }
    let f = 0;
    for (;;) {
      while (i < end && isSpace(buf[i])) i++;
      if (i >= end) break;
      const s = i;
      let colon = -1;
      while (i < end && !isSpace(buf[i])) {
        if (buf[i] === 58 && colon < 0) colon = i;
        i++;
      }
      if (f >= this.numFields) return this.fail('field-count', `expected at most ${this.numFields} features, got ${f + 1} or more`);
      if (colon < 0) return this.fail('token', notIdxVal(buf, start, end, `feature ${f + 1} ${quote(buf, s, i)}`));
      const idxEnd = colon;
      if (idxEnd === s) return this.fail('token', `feature ${f + 1} ${quote(buf, s, i)} has an empty index`);
      const w = parseFloatBytes(buf, colon + 1, i);
      if (Number.isNaN(w)) return this.fail('number', `feature ${f + 1} ${quote(buf, s, i)}: value is not a number`);
      if (Math.abs(w) > FLOAT32_MAX) return this.fail('number', `feature ${f + 1} ${quote(buf, s, i)}: value is beyond the float32 range (±3.4e38)`);
      xxh64Bytes(buf, s, idxEnd, f, b.ids[f], row);
      if (this.weights) (b.weights[f] as Float32Array)[row] = w;
      f++;
    }
    if (f < this.shape.minFeatures) return this.fail('field-count', `expected ${this.shape.minFeatures} features (the model's training rows all had at least that many), got ${f}: is this the model's kind of data?`);
    if (f < this.shape.minSeen) this.shape.minSeen = f;
    for (; f < this.numFields; f++) {
      b.ids[f][2 * row] = this.emptyIds[2 * f];
      b.ids[f][2 * row + 1] = this.emptyIds[2 * f + 1];
      if (this.weights) (b.weights[f] as Float32Array)[row] = 1;
    }
    return true;
  }

  private fail(kind: string, reason: string): boolean {
    this.kind = kind;
    this.reason = reason;
    return false;
  }
}

class FfmParser implements LineParser {
  kind = '';
  reason = '';
  private readonly seen: Uint8Array;

  constructor(
    private readonly numFields: number,
    private readonly hasLabel: boolean,
    readonly shape: ShapeCount,
  ) {
    this.seen = new Uint8Array(numFields);
  }

  reset(): void {
    this.shape.reset();
  }

  parse(buf: Uint8Array, start: number, end: number, b: ChunkBuilder): boolean {
    const row = b.rows;
    let i = start;
    if (this.hasLabel) {
      while (i < end && !isSpace(buf[i])) i++;
      const label = svmLabel(buf, start, i);
      if (label < 0) return this.fail('label', `label ${quote(buf, start, i)} is not 0/1 or -1/+1`);
      b.labels[row] = label;
    }
    const seen = this.seen;
    seen.fill(0);
    for (;;) {
      while (i < end && isSpace(buf[i])) i++;
      if (i >= end) break;
      const s = i;
      let c1 = -1;
      let c2 = -1;
      while (i < end && !isSpace(buf[i])) {
        if (buf[i] === 58) {
          if (c1 < 0) c1 = i;
          else if (c2 < 0) c2 = i;
        }
        i++;
      }
      if (c2 < 0) return this.fail('token', `token ${quote(buf, s, i)} is not field:index:value`);
      const f = parseIntBytes(buf, s, c1);
      if (!(f >= 0)) return this.fail('token', `token ${quote(buf, s, i)}: field is not a non-negative integer`);
      if (f >= this.numFields) return this.fail('field-index', `token ${quote(buf, s, i)}: field ${f} ≥ numFields ${this.numFields}`);
      if (c2 === c1 + 1) return this.fail('token', `token ${quote(buf, s, i)} has an empty index`);
      const w = parseFloatBytes(buf, c2 + 1, i);
      if (Number.isNaN(w)) return this.fail('number', `token ${quote(buf, s, i)}: value is not a number`);
      if (Math.abs(w) > FLOAT32_MAX) return this.fail('number', `token ${quote(buf, s, i)}: value is beyond the float32 range (±3.4e38)`);
      const v = b.pushValue(f, w);
      xxh64Bytes(buf, c1 + 1, c2, f, b.ids[f], v);
      seen[f] = 1;
    }
    let present = 0;
    for (let f = 0; f < this.numFields; f++) present += seen[f];
    if (present < this.shape.minFeatures) return this.fail('field-count', `expected ${this.shape.minFeatures} fields (the model's training rows all had at least that many), got ${present}: is this the model's kind of data?`);
    if (present < this.shape.minSeen) this.shape.minSeen = present;
    for (let f = 0; f < this.numFields; f++) {
      if (seen[f] === 0) {
        const v = b.pushValue(f, 1);
        xxh64Bytes(buf, 0, 0, f, b.ids[f], v);
      }
    }
    return true;
  }

  private fail(kind: string, reason: string): boolean {
    this.kind = kind;
    this.reason = reason;
    return false;
  }
}

/** The parsers openLibsvm / openLibffm use for unlabelled lines (RowEncoder scores JSON rows with them). */
export function svmLineParser(numFields: number, minFeatures = 0, weights = true): LineParser {
  return new SvmParser(numFields, false, new ShapeCount(minFeatures), weights);
}

/** (FfmParser needs no flag: ChunkBuilder.pushValue drops the weight of a field without weights.) */
export function ffmLineParser(numFields: number, minFeatures = 0): LineParser {
  return new FfmParser(numFields, false, new ShapeCount(minFeatures));
}

async function resolveNumFields(path: string, options: ReaderOptions, maxLineBytes: number, measure: (buf: Uint8Array, s: number, e: number) => number): Promise<number> {
  if (options.numFields !== undefined) {
    if (!Number.isInteger(options.numFields) || options.numFields < 1) {
      throw new ConfigError(`numFields must be a positive integer, got ${options.numFields}`, { key: 'numFields' });
    }
    return options.numFields;
  }
  if (path === STDIN || (await checkInput(path)).once) {
    throw new ConfigError(
      `${displayName(path)}: numFields is required when reading libsvm/libffm from stdin or a pipe (the input cannot be scanned first to count the fields); give a regular file instead`,
      { key: 'numFields' },
    );
  }
  const n = await scanMax(path, maxLineBytes, measure);
  return Math.max(1, n);
}

/**
 * libsvm / libfm: field k is the k-th feature token of the line (seed k); the id hashes the idx text and the
 * weight is val (1 when absent). Lines with fewer tokens get "" (weight 1) in the trailing fields. With
 * options.valueWeights false the fields carry no weights (every value weighs 1).
 */
export async function openLibsvm(format: DataFormat, path: string, options: ReaderOptions = {}): Promise<DataReader> {
  const common = normalizeCommon(options);
  noIdColumn(format, options);
  noWeightColumn(format, options);
  await checkInput(path);
  const { hasLabel, pending } = await detectLabel(path, common);
  const n = await resolveNumFields(path, options, common.maxLineBytes, (buf, s, e) => countTokens(buf, s, e) - (hasLabel ? 1 : 0));
  const weighted = options.valueWeights !== false;
  const fields: FieldInfo[] = Array.from({ length: n }, (_, k) => ({ name: `f${k}`, multiValued: false, weighted }));
  const parser = new SvmParser(n, hasLabel, new ShapeCount(options.minFeatures ?? 0), weighted);
  return new TextReader({ format, path, options: common, fields, denseNames: [], parser, hasHeader: false, hasLabels: hasLabel, pending, minFeaturesSeen: () => parser.shape.minSeen });
}

/**
 * labels 'detect': a labelled line starts with a label token (no colon), an unlabelled one with a feature
 * (`idx:val`, `field:idx:val`). Reads the first line (stdin: keeps the pass open for the reader).
 */
async function detectLabel(path: string, common: NormalizedCommon): Promise<{ hasLabel: boolean; pending?: Awaited<ReturnType<typeof readHeader>>['pending'] }> {
  if (common.labels !== 'detect') return { hasLabel: common.labels === 'require' };
  const { header, pending } = await readHeader(path, common.maxLineBytes, { asData: true });
  const first = header.trim().split(/[ \t]/)[0] ?? '';
  return { hasLabel: !first.includes(':'), pending };
}

/**
 * libffm: multi-valued fields (sum pooling, weight = val); a field absent from a line gets one "" value of weight 1.
 * With options.valueWeights false the fields carry no weights (every value weighs 1).
 */
export async function openLibffm(path: string, options: ReaderOptions = {}): Promise<DataReader> {
  const common = normalizeCommon(options);
  noIdColumn('libffm', options);
  noWeightColumn('libffm', options);
  await checkInput(path);
  const { hasLabel, pending } = await detectLabel(path, common);
  const n = await resolveNumFields(path, options, common.maxLineBytes, (buf, s, e) => maxFfmField(buf, s, e, hasLabel));
  const weighted = options.valueWeights !== false;
  const fields: FieldInfo[] = Array.from({ length: n }, (_, k) => ({ name: `f${k}`, multiValued: true, weighted, pooling: 'sum' as const }));
  const parser = new FfmParser(n, hasLabel, new ShapeCount(options.minFeatures ?? 0));
  return new TextReader({ format: 'libffm', path, options: common, fields, denseNames: [], parser, hasHeader: false, hasLabels: hasLabel, pending, minFeaturesSeen: () => parser.shape.minSeen });
}

/** 1 + the largest field number on the line (0 when none parse). */
function maxFfmField(buf: Uint8Array, s: number, e: number, hasLabel: boolean): number {
  let max = 0;
  let i = s;
  if (hasLabel) while (i < e && !isSpace(buf[i])) i++;
  while (i < e) {
    while (i < e && isSpace(buf[i])) i++;
    const t = i;
    while (i < e && buf[i] !== 58 && !isSpace(buf[i])) i++;
    const f = parseIntBytes(buf, t, i);
    if (f >= 0 && f + 1 > max && f < 1 << 20) max = f + 1;
    while (i < e && !isSpace(buf[i])) i++;
  }
  return max;
}
