// Reader for generic CSV/TSV driven by a small JSON schema (schema.ts): one label column, categorical columns,
// numeric columns (dense or bucketized), multi-valued columns. Double-quoted fields are supported within a line
// (RFC 4180 quoting, "" for a quote); a quoted field may not span lines.

import { ConfigError, DataError, dataError } from '../core/errors.js';
import type { ChunkBuilder, FieldInfo } from './chunk.js';
import type { DataFormat, DataReader, ReaderOptions, WeightMode } from './reader.js';
import { bucketIndex, loadSchema } from './schema.js';
import type { NormalizedSchema } from './schema.js';
import { checkInput, displayName } from './source.js';
import { FLOAT32_MAX, IntIdCache, ShortTokenCache, logSquaredBucket, parseFloatBytes, quote } from './tokens.js';
import { TextReader, normalizeCommon, previewColumns, readHeader, sampleWeightOf, splitHeader } from './text-reader.js';
import type { LineParser } from './text-reader.js';
import { xxh64Bytes } from '../hash/xxh64.js';

/** split() results for bad quoting. */
const UNCLOSED_QUOTE = -1;
const STRAY_QUOTE = -2;

const ROLE_IGNORE = 0;
const ROLE_LABEL = 1;
const ROLE_CAT = 2;
const ROLE_DENSE = 3;
const ROLE_BUCKET = 4;
const ROLE_MULTI = 5;
const ROLE_WEIGHT = 6;

interface ColumnRole {
  role: number;
  /** Field index (cat, bucket, multi) or dense index. */
  target: number;
  name: string;
  transform?: 'none' | 'log1p';
  boundaries?: number[] | null;
  separator?: number;
}

/** Label text → 0/1: 1, 1.0, true → 1; 0, -1, false → 0; else -1. */
function csvLabel(buf: Uint8Array, s: number, e: number): number {
  const v = parseFloatBytes(buf, s, e);
  if (v === 1) return 1;
  if (v === 0 || v === -1) return 0;
  const n = e - s;
  if (n === 4 && (buf[s] | 32) === 116 && (buf[s + 1] | 32) === 114 && (buf[s + 2] | 32) === 117 && (buf[s + 3] | 32) === 101) return 1;
  if (n === 5 && (buf[s] | 32) === 102 && (buf[s + 1] | 32) === 97 && (buf[s + 2] | 32) === 108 && (buf[s + 3] | 32) === 115 && (buf[s + 4] | 32) === 101) return 0;
  return -1;
}

class CsvParser implements LineParser {
  kind = '';
  reason = '';
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private scratch = new Uint8Array(256);
  private readonly tokens: ShortTokenCache;
  private readonly ints: IntIdCache;
  private readonly seedOfInt: number[];

  constructor(
    private readonly roles: ColumnRole[],
    private readonly delim: number,
    /** Exact column count (header) or -1 (no header: at least roles.length). */
    private readonly exact: number,
    numFields: number,
    /** Column passed through as the row's key (-1: none). */
    private readonly idCol: number = -1,
  ) {
    this.tokens = new ShortTokenCache(numFields);
    this.seedOfInt = roles.filter((r) => r.role === ROLE_BUCKET).map((r) => r.target);
    this.ints = new IntIdCache(this.seedOfInt, -64, 1024);
  }

  /** Split into fields; unquotes into the scratch buffer when needed. Returns the field count, or UNCLOSED_QUOTE / STRAY_QUOTE. */
  private split(buf: Uint8Array, start: number, end: number): { n: number; buf: Uint8Array } {
    let quoted = false;
    for (let i = start; i < end; i++) if (buf[i] === 34) quoted = true;
    let n = 0;
    if (!quoted) {
      let s = start;
      for (let i = start; i <= end; i++) {
        if (i === end || buf[i] === this.delim) {
          this.push(n++, s, i);
          s = i + 1;
        }
      }
      return { n, buf };
    }
    // Slow path: copy the line into scratch, unquoting fields.
    if (this.scratch.length < end - start) this.scratch = new Uint8Array(2 * (end - start));
    const out = this.scratch;
    let o = 0;
    let i = start;
    for (;;) {
      const fs = o;
      if (i < end && buf[i] === 34) {
        i++;
        for (;;) {
          if (i >= end) return { n: UNCLOSED_QUOTE, buf };
          if (buf[i] === 34) {
            if (i + 1 < end && buf[i + 1] === 34) {
              out[o++] = 34;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          out[o++] = buf[i++];
        }
        if (i < end && buf[i] !== this.delim) return { n: STRAY_QUOTE, buf };
      } else {
        while (i < end && buf[i] !== this.delim) {
          if (buf[i] === 34) return { n: STRAY_QUOTE, buf };
          out[o++] = buf[i++];
        }
      }
      this.push(n++, fs, o);
      if (i >= end) break;
      i++; // delimiter
      if (i === end) {
        this.push(n++, o, o);
        break;
      }
    }
    return { n, buf: out };
  }

  private push(k: number, s: number, e: number): void {
    if (k >= this.starts.length) {
      const a = new Int32Array(2 * this.starts.length);
      a.set(this.starts);
      this.starts = a;
      const b = new Int32Array(2 * this.ends.length);
      b.set(this.ends);
      this.ends = b;
    }
    this.starts[k] = s;
    this.ends[k] = e;
  }

  parse(line: Uint8Array, start: number, end: number, b: ChunkBuilder): boolean {
    const { n, buf } = this.split(line, start, end);
    const delimName = this.delim === 9 ? 'tab' : this.delim === 44 ? 'comma' : `'${String.fromCharCode(this.delim)}'`;
    if (n === UNCLOSED_QUOTE) return this.fail('quoting', 'a quoted field is not closed on this line (a quoted field may not span lines)');
    if (n < 0) return this.fail('quoting', 'a double quote inside an unquoted field or text after a closing quote (write a quote inside a quoted field as "")');
    if (this.exact >= 0 ? n !== this.exact : n < this.roles.length) {
      return this.fail('field-count', `expected ${this.exact >= 0 ? '' : 'at least '}${this.exact >= 0 ? this.exact : this.roles.length} ${delimName}-separated fields, got ${n}`);
    }
    const row = b.rows;
    if (this.idCol >= 0) (b.keys as string[])[row] = Buffer.from(buf.buffer, buf.byteOffset + this.starts[this.idCol], this.ends[this.idCol] - this.starts[this.idCol]).toString('utf8');
    let bucketK = 0;
    for (let c = 0; c < this.roles.length; c++) {
      const r = this.roles[c];
      const s = this.starts[c];
      const e = this.ends[c];
      switch (r.role) {
        case ROLE_LABEL: {
          const y = csvLabel(buf, s, e);
          if (y < 0) return this.fail('label', `label ${quote(buf, s, e)} is not 0/1`);
          b.labels[row] = y;
          break;
        }
        case ROLE_CAT:
          this.tokens.hash(buf, s, e, r.target, b.ids[r.target], row);
          break;
        case ROLE_DENSE: {
          let v = 0;
          if (s < e) {
            v = parseFloatBytes(buf, s, e);
            if (Number.isNaN(v)) return this.fail('number', `${r.name} value ${quote(buf, s, e)} is not a number`);
            if (Math.abs(v) > FLOAT32_MAX) return this.fail('number', `${r.name} value ${quote(buf, s, e)} is beyond the float32 range (±3.4e38)`);
            if (r.transform === 'log1p') v = Math.log1p(Math.max(v, 0));
          }
          (b.dense as Float32Array)[row * b.numDense + r.target] = v;
          break;
        }
        case ROLE_BUCKET: {
          if (s === e) {
            xxh64Bytes(buf, s, s, r.target, b.ids[r.target], row);
          } else {
            const v = parseFloatBytes(buf, s, e);
            if (Number.isNaN(v)) return this.fail('number', `${r.name} value ${quote(buf, s, e)} is not a number`);
            const cat = r.boundaries ? bucketIndex(v, r.boundaries) : logSquaredBucket(Math.floor(v));
            this.ints.write(bucketK, r.target, cat, b.ids[r.target], row);
          }
          bucketK++;
          break;
        }
        case ROLE_WEIGHT: {
          const w = sampleWeightOf(buf, s, e, r.name);
          if (typeof w === 'string') return this.fail('weight', w);
          (b.sampleWeights as Float32Array)[row] = w;
          break;
        }
        case ROLE_MULTI: {
          const sep = r.separator as number;
          let p = s;
          for (let i = s; i <= e; i++) {
            if (i === e || buf[i] === sep) {
              const v = b.pushValue(r.target, 1);
              xxh64Bytes(buf, p, i, r.target, b.ids[r.target], v);
              p = i + 1;
            }
          }
          break;
        }
        default:
          break;
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

interface CsvLayoutInit {
  schema: NormalizedSchema;
  columns: readonly string[];
  delimiter: string;
  name: string;
  format: DataFormat;
  hasLabels: boolean;
  idColumn: string | undefined;
  /** The weight column to read into the rows' sample weights, or to drop unread ('ignore'), if any. */
  weightColumn?: string;
  weights?: WeightMode;
  /** The line has exactly `columns` cells (a header names them); else at least the schema's. */
  exact: boolean;
}

/** Roles, fields and the line parser for the columns of a file under its schema (openCsv and RowEncoder share it). */
function csvLayout(init: CsvLayoutInit): { parser: LineParser; fields: FieldInfo[]; denseNames: string[]; readsWeights: boolean } {
  const { schema, columns, delimiter, name, format, hasLabels, idColumn, exact, weightColumn } = init;
  const weights = init.weights ?? 'require';
  const options = { idColumn };
  const roleOf = new Map<string, ColumnRole>();
  const fields: FieldInfo[] = [];
  const denseNames: string[] = [];
  if (hasLabels) roleOf.set(schema.label, { role: ROLE_LABEL, target: -1, name: schema.label });
  for (const c of schema.categorical) {
    roleOf.set(c, { role: ROLE_CAT, target: fields.length, name: c });
    fields.push({ name: c, multiValued: false, weighted: false });
  }
  for (const nc of schema.numeric) {
    if (nc.mode === 'bucket') {
      roleOf.set(nc.name, { role: ROLE_BUCKET, target: fields.length, name: nc.name, boundaries: nc.boundaries });
      fields.push({ name: nc.name, multiValued: false, weighted: false });
    }
  }
  for (const m of schema.multi) {
    roleOf.set(m.name, { role: ROLE_MULTI, target: fields.length, name: m.name, separator: m.separator.charCodeAt(0) });
    fields.push({ name: m.name, multiValued: true, weighted: false, pooling: m.pooling });
  }
  for (const nc of schema.numeric) {
    if (nc.mode === 'dense') {
      roleOf.set(nc.name, { role: ROLE_DENSE, target: denseNames.length, name: nc.name, transform: nc.transform });
      denseNames.push(nc.name);
    }
  }
  // The weight column: never a feature (a model's inputs may not include a training weight), read or dropped.
  let readsWeights = false;
  if (weightColumn !== undefined) {
    const role = weightColumn === schema.label ? 'label' : schema.categorical.includes(weightColumn) ? 'categorical' : schema.numeric.some((n) => n.name === weightColumn) ? 'numeric' : schema.multi.some((m) => m.name === weightColumn) ? 'multi' : null;
    if (role !== null) throw new ConfigError(`weight column '${weightColumn}' is also the schema's ${role === 'label' ? 'label' : `${role} column`}; a sample weight is not a feature: remove it from the schema or name another column`, { key: 'weightColumn' });
    const present = columns.includes(weightColumn);
    if (!present && weights === 'require') throw dataError(name, 1, `weight column '${weightColumn}' is not in the header (columns: ${previewColumns(columns)})`);
    if (present && weights !== 'ignore') {
      roleOf.set(weightColumn, { role: ROLE_WEIGHT, target: -1, name: weightColumn });
      readsWeights = true;
    }
  }
  for (const key of [...roleOf.keys(), ...(options.idColumn !== undefined ? [options.idColumn] : [])]) {
    const at = columns.flatMap((c, i) => (c === key ? [i + 1] : []));
    if (at.length === 0) {
      let hint = columns.length === 1 ? delimiterHint(columns[0], delimiter, format) : '';
      if (hint === '' && key === schema.label) hint = '; unlabelled rows can be scored with `bhembed predict` (it detects the missing label)';
      const what = key === options.idColumn && !roleOf.has(key) ? 'id column' : 'schema column';
      throw dataError(name, 1, `${what} '${key}' is not in the header (columns: ${previewColumns(columns)})${hint}`);
    }
    // Two columns of one name would both feed the same field (the last one winning): refuse, name the positions.
    if (at.length > 1) throw dataError(name, 1, `schema column '${key}' appears ${at.length} times in the header (columns ${at.join(', ')}); rename all but one`);
  }
  const roles: ColumnRole[] = columns.map((c) => roleOf.get(c) ?? { role: ROLE_IGNORE, target: -1, name: c });
  const idCol = options.idColumn === undefined ? -1 : columns.indexOf(options.idColumn);
  const parser = new CsvParser(roles, delimiter.charCodeAt(0), exact ? columns.length : -1, fields.length, idCol);
  return { parser, fields, denseNames, readsWeights };
}

/**
 * The line parser openCsv builds for an unlabelled file of these columns (RowEncoder scores JSON rows with it,
 * writing their cells in this column order, RFC 4180-quoted).
 */
export function csvLineParser(schema: NormalizedSchema, columns: readonly string[], delimiter: string, format: DataFormat): { parser: LineParser; fields: FieldInfo[]; denseNames: string[] } {
  return csvLayout({ schema, columns, delimiter, name: '<row>', format, hasLabels: false, idColumn: undefined, exact: true });
}

/**
 * Fields, in this order: categorical columns, bucketized numeric columns, multi-valued columns (schema order
 * within each group; seed = position). Dense: the 'dense' numeric columns in schema order; empty → 0.
 * Categorical and multi-valued values are hashed as written (unquoted); empty cell → "".
 */
export async function openCsv(format: DataFormat, path: string, options: ReaderOptions = {}): Promise<DataReader> {
  const common = normalizeCommon(options);
  const schema: NormalizedSchema = await loadSchema(options.schema);
  await checkInput(path);
  const name = displayName(path);
  const delimiter = schema.delimiter ?? (format === 'tsv' ? '\t' : ',');
  let columns: string[];
  let pending;
  if (schema.header) {
    const h = await readHeader(path, common.maxLineBytes);
    pending = h.pending;
    const cells = splitHeader(h.header, delimiter);
    if (cells === null) throw dataError(name, 1, 'unbalanced or misplaced double quote in the header line');
    columns = cells;
  } else {
    const weighs = options.weightColumn !== undefined && common.weights !== 'ignore';
    const used = [schema.label, ...schema.categorical, ...schema.numeric.map((n) => n.name), ...schema.multi.map((m) => m.name), ...(options.idColumn !== undefined ? [options.idColumn] : []), ...(weighs ? [options.weightColumn as string] : [])];
    const bad = used.find((u) => !/^\d+$/.test(u));
    if (bad !== undefined) throw new DataError(`schema has header: false, so columns are named by 0-based position, but got '${bad}'`, { file: name });
    // Unlabelled rows of a headerless file lack the label's column: the columns after it move one place left.
    const labelPos = Number(schema.label);
    const width = Math.max(...used.map(Number)) + 1 - (common.labels === 'none' ? 1 : 0);
    columns = Array.from({ length: width }, (_, i) => String(common.labels === 'none' && i >= labelPos ? i + 1 : i));
  }
  // The label: required, ignored ('none'), or read when the header has it ('detect'; a headerless file states it).
  const labelInFile = columns.includes(schema.label);
  const hasLabels = common.labels === 'require' || (common.labels === 'detect' && (labelInFile || !schema.header));
  const { parser, fields, denseNames, readsWeights } = csvLayout({ schema, columns, delimiter, name, format, hasLabels, idColumn: options.idColumn, exact: schema.header, weightColumn: options.weightColumn, weights: common.weights });
  return new TextReader({ format, path, options: common, fields, denseNames, parser, hasHeader: schema.header, pending, hasLabels, idColumn: options.idColumn, ...(readsWeights ? { weightColumn: options.weightColumn } : {}) });
}

const DELIMITERS: ReadonlyArray<[string, string]> = [
  [',', 'comma'],
  ['\t', 'tab'],
  [';', 'semicolon'],
  ['|', "'|'"],
];

/**
 * The header split into one column: name the delimiter the header does contain and the flag that reads it
 * (the hint used to ask whether the file used the delimiter that had just failed to split it).
 */
function delimiterHint(header: string, delimiter: string, format: DataFormat): string {
  const asked = DELIMITERS.find(([d]) => d === delimiter)?.[1] ?? `'${delimiter}'`;
  const found = DELIMITERS.find(([d]) => d !== delimiter && header.includes(d));
  if (found === undefined) return `; only one column found when splitting on ${asked}s`;
  const [d, word] = found;
  const fix = d === ',' ? (format === 'csv' ? '"delimiter": "," in the schema' : '--format csv') : d === '\t' ? '--format tsv' : `"delimiter": "${d}" in the schema`;
  return `; only one column found when splitting on ${asked}s (--format ${format}), but the header has ${word}s: use ${fix}`;
}
