// Rows given as plain objects ({"C1": "68fd1e64", "I1": 3, …}) → the same DataChunk a reader makes of the same
// values in a file. There is one hashing implementation: each object is written as one line of the training format
// (cells in the training file's column order, quoted where the format allows) and parsed by that reader's own
// LineParser. Nothing here hashes, buckets or transforms a value itself.

import { ConfigError, DataError } from '../core/errors.js';
import { avazuLineParser } from './avazu.js';
import { ChunkBuilder } from './chunk.js';
import { BodyError, JsonRowScanner, bodyInstances } from './json-rows.js';
import type { DataChunk, FieldInfo } from './chunk.js';
import { CRITEO_CAT_FEATURES, CRITEO_INT_FEATURES, criteoLineParser } from './criteo.js';
import { csvLineParser } from './csv.js';
import { ffmLineParser, svmLineParser } from './libsvm.js';
import type { DataFormat, ReaderOptions } from './reader.js';
import { loadSchema } from './schema.js';
import type { LineParser } from './text-reader.js';

/** A value as a client sends it: the file's text, a number (written as String(n)), null = missing, a list (multi-valued fields). */
export type RowValue = string | number | null | undefined | readonly (string | number)[];
export type Row = Readonly<Record<string, unknown>>;

/** A bad row: `instance` is its index in the list given to encode(), `field` the input name (null: the row as a whole). */
export class RowError extends DataError {
  constructor(
    readonly instance: number,
    readonly field: string | null,
    readonly reason: string,
  ) {
    super(`instance ${instance}${field === null ? '' : `, field '${field}'`}: ${reason}`, { instance, field, reason });
  }
}

export interface RowEncoderOptions {
  /** Longest value accepted, in characters (a list: each item). @default 4096 */
  maxValueLength?: number;
}

/** How one input name is written into the line. */
interface Input {
  name: string;
  /** Position among the line's cells (libsvm/libffm: the field number). */
  cell: number;
  /** A list is allowed and joined with this (csv multi-valued: its separator; libffm: one token per item). */
  list: string | null;
}

/** Per format: the line's cells and how a cell is made safe (or refused) for the line. */
interface Layout {
  parser: LineParser;
  fields: FieldInfo[];
  denseNames: string[];
  inputs: Map<string, Input>;
  /** Names accepted and dropped (the label column, avazu's id). */
  ignored: Set<string>;
  /** Cells of a row with nothing given (label cell first where the format has one). */
  blank: string[];
  /** The line of a row's cells. */
  join(cells: string[]): string;
  /** Why `text` cannot be a cell of this format (null: fine). */
  refuse(text: string): string | null;
  /** libsvm: fields are positional, so none may be missing before a given one. */
  positional: boolean;
  /** Inputs the reader cannot read as missing (avazu's hour when split), with the reason. */
  required: Map<string, string>;
  /** The blank cells blame() probes one field against (valid where a blank cell is not). */
  probeBlank: string[];
  /** Delimited layouts: the delimiter (JSON bodies of plain values are scanned straight into lines). */
  delim?: string;
}

/** The rows of a JSON request body. */
export interface EncodedBody {
  chunks: DataChunk[];
  rows: number;
  /** true: read by the byte scanner; false: by JSON.parse (a shape the scanner does not take). */
  scanned: boolean;
}

const DEFAULT_MAX_VALUE_LENGTH = 4096;

/**
 * Scores plain objects exactly as the reader of `format` scores the same values in a file.
 * @example
 * const enc = await RowEncoder.create('criteo', {});
 * const chunk = enc.encode([{ C1: '68fd1e64', I1: 3 }]); // missing fields are empty cells
 */
export class RowEncoder {
  readonly format: DataFormat;
  readonly fields: readonly FieldInfo[];
  readonly fieldNames: readonly string[];
  readonly denseNames: readonly string[];
  /** The names an instance may use, in the training file's column order. */
  readonly inputNames: readonly string[];
  private readonly L: Layout;
  private readonly maxValueLength: number;
  private readonly encoder = new TextEncoder();
  private buf = new Uint8Array(4096);
  /** The current row's cells (reused: a row's line is built before the next row starts). */
  private readonly cellBuf: string[];

  private constructor(format: DataFormat, L: Layout, opts: RowEncoderOptions) {
    this.format = format;
    this.L = L;
    this.fields = L.fields;
    this.fieldNames = L.fields.map((f) => f.name);
    this.denseNames = L.denseNames;
    this.inputNames = [...L.inputs.keys()];
    this.cellBuf = L.blank.slice();
    this.maxValueLength = opts.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
    if (!Number.isInteger(this.maxValueLength) || this.maxValueLength < 1) {
      throw new ConfigError(`maxValueLength must be a positive integer, got ${String(opts.maxValueLength)}`, { key: 'maxValueLength' });
    }
  }

  /**
   * An encoder for data of `format` read with `reader` (a model file's meta.data.reader: schema inlined, numFields
   * fixed). `fieldNames` (the model's avazu fields) gives the columns where the reader options alone do not.
   */
  static async create(format: DataFormat, reader: ReaderOptions, fieldNames?: readonly string[], opts: RowEncoderOptions = {}): Promise<RowEncoder> {
    return new RowEncoder(format, await layoutOf(format, reader, fieldNames), opts);
  }

  /** A row every model of this layout accepts (nothing given, except inputs the reader cannot miss): for warm-up. */
  exampleRow(): Record<string, string> {
    const row: Record<string, string> = {};
    for (const name of this.L.required.keys()) row[name] = this.L.probeBlank[(this.L.inputs.get(name) as Input).cell];
    return row;
  }

  /** One chunk of rows.length rows; the first bad row throws RowError naming its index and field. */
  encode(rows: readonly Row[]): DataChunk {
    const b = new ChunkBuilder(Math.max(1, rows.length), this.L.fields, this.L.denseNames.length);
    for (let i = 0; i < rows.length; i++) {
      const cells = this.cells(rows[i], i);
      const n = this.write(this.L.join(cells));
      b.labels[b.rows] = 0;
      if (this.L.parser.parse(this.buf, 0, n, b)) {
        b.commitRow();
        continue;
      }
      b.abortRow();
      throw this.blame(rows[i], i, this.L.parser.reason);
    }
    return b.take(true);
  }

  /**
   * The rows of a request body `{"instances": [{…}, …]}` (UTF-8), in chunks of ≤ chunkRows rows: the same rows
   * encode() makes of the parsed instances. A body that is not such an object is a BodyError, a bad instance a
   * RowError. Plain bodies (ASCII names, strings and integers) are scanned without building objects.
   */
  encodeJson(body: Uint8Array, maxInstances: number, chunkRows = 256): EncodedBody {
    const scanner = this.scanner();
    if (scanner !== null) {
      const chunks: DataChunk[] = [];
      // A first chunk sized by the body (≥ 64 bytes an instance, most are larger), then doubling up to chunkRows:
      // a one-row body allocates for a few rows, not for chunkRows.
      let cap = Math.min(chunkRows, Math.max(8, Math.ceil(body.length / 64)));
      let b = new ChunkBuilder(cap, this.L.fields, this.L.denseNames.length);
      const parser = this.L.parser;
      const rows = scanner.scan(body, maxInstances, (line, n) => {
        b.labels[b.rows] = 0;
        if (!parser.parse(line, 0, n, b)) {
          b.abortRow();
          return false;
        }
        b.commitRow();
        if (b.full) {
          chunks.push(b.take(true));
          cap = Math.min(2 * cap, chunkRows);
          b = new ChunkBuilder(cap, this.L.fields, this.L.denseNames.length);
        }
        return true;
      });
      if (rows !== null) {
        if (b.rows > 0) chunks.push(b.take(true));
        return { chunks, rows, scanned: true };
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.decoder.decode(body));
    } catch (e) {
      throw new BodyError(`malformed JSON body: ${(e as Error).message}`, undefined, 'malformed_json');
    }
    const rows = bodyInstances(parsed, maxInstances) as Row[];
    const chunks: DataChunk[] = [];
    for (let k = 0; k < rows.length; k += chunkRows) {
      try {
        chunks.push(this.encode(rows.slice(k, k + chunkRows)));
      } catch (e) {
        throw e instanceof RowError && k > 0 ? new RowError(e.instance + k, e.field, e.reason) : e;
      }
    }
    return { chunks, rows: rows.length, scanned: false };
  }

  private scan: JsonRowScanner | null | undefined;
  private readonly decoder = new TextDecoder();

  private scanner(): JsonRowScanner | null {
    if (this.scan === undefined) {
      const L = this.L;
      if (L.delim === undefined || L.delim.length !== 1) this.scan = null;
      else {
        const names = new Map<string, number>();
        for (const [name, inp] of L.inputs) names.set(name, inp.cell);
        for (const name of L.ignored) if (!names.has(name)) names.set(name, -1);
        const required = [...L.required.keys()].map((name) => (L.inputs.get(name) as Input).cell);
        this.scan = new JsonRowScanner({ cells: L.blank.length, delim: L.delim.charCodeAt(0), names, required, maxValueLength: this.maxValueLength });
      }
    }
    return this.scan;
  }

  /** The row's cells; type, length, unknown-name and positional errors are found here. */
  private cells(row: Row, i: number): string[] {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RowError(i, null, 'an instance must be a JSON object of field names to values');
    const L = this.L;
    const cells = this.cellBuf;
    for (let c = 0; c < cells.length; c++) cells[c] = L.blank[c];
    let last = -1;
    const names = Object.keys(row);
    for (let k = 0; k < names.length; k++) {
      const name = names[k];
      const inp = L.inputs.get(name);
      if (inp === undefined) {
        if (L.ignored.has(name)) continue;
        throw new RowError(i, name, `unknown field; the model's fields are: ${previewNames(this.inputNames)}`);
      }
      const text = this.text(row[name], inp, i);
      if (text === null) continue;
      cells[inp.cell] = text;
      if (inp.cell > last) last = inp.cell;
    }
    for (const [name, why] of L.required) if (cells[(L.inputs.get(name) as Input).cell] === '') throw new RowError(i, name, why);
    if (L.positional) {
      // libsvm: field k is the k-th token, so only trailing fields can be missing.
      for (let c = 0; c < last; c++) {
        if (cells[c] === '') {
          const missing = this.inputNames[c];
          throw new RowError(i, missing, `missing while a later field '${this.inputNames[last]}' is given: ${this.format} fields are positional, only trailing ones may be missing`);
        }
      }
    }
    return cells;
  }

  /** The cell text of one value (null: missing). */
  private text(v: unknown, inp: Input, i: number): string | null {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) {
      if (inp.list === null) throw new RowError(i, inp.name, 'a list is allowed only for multi-valued fields; send the value as a string or number');
      if (v.length === 0) return null;
      const parts: string[] = [];
      for (const item of v) {
        const t = this.scalar(item, inp, i);
        if (t === null) throw new RowError(i, inp.name, 'a list item must be a string or a number');
        if (inp.list !== ' ' && t.includes(inp.list)) throw new RowError(i, inp.name, `list item ${excerpt(t)} contains the separator '${inp.list}'`);
        parts.push(t);
      }
      return inp.list === ' ' ? parts.map((p) => `${inp.cell}:${p}`).join(' ') : parts.join(inp.list);
    }
    const t = this.scalar(v, inp, i);
    if (t === null) throw new RowError(i, inp.name, `expected a string or a number, got ${typeof v === 'object' ? 'an object' : typeof v}`);
    return inp.list === ' ' ? `${inp.cell}:${t}` : t;
  }

  private scalar(v: unknown, inp: Input, i: number): string | null {
    let t: string;
    if (typeof v === 'string') t = v;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RowError(i, inp.name, 'a number must be finite');
      t = String(v);
    } else return null;
    if (t.length > this.maxValueLength) throw new RowError(i, inp.name, `value is ${t.length} characters long, the limit is ${this.maxValueLength}`);
    if (t.includes('\n') || t.includes('\r')) throw new RowError(i, inp.name, 'a value may not contain a line break');
    const why = this.L.refuse(t);
    if (why !== null) throw new RowError(i, inp.name, `value ${excerpt(t)} ${why}`);
    return t;
  }

  /** UTF-8 of the line into this.buf; returns its length. */
  private write(line: string): number {
    if (this.buf.length < 3 * line.length) this.buf = new Uint8Array(3 * line.length + 64);
    return this.encoder.encodeInto(line, this.buf).written;
  }

  /** The first given field that fails on its own (the others blank) takes the blame; else the row as a whole. */
  private blame(row: Row, i: number, reason: string): RowError {
    const L = this.L;
    const probe = new ChunkBuilder(1, L.fields, L.denseNames.length);
    for (const name in row) {
      const inp = Object.hasOwn(row, name) ? L.inputs.get(name) : undefined;
      if (inp === undefined) continue;
      const text = this.text(row[name], inp, i);
      if (text === null) continue;
      const cells = L.probeBlank.slice();
      cells[inp.cell] = text;
      const n = this.write(L.join(cells));
      if (!L.parser.parse(this.buf, 0, n, probe)) {
        probe.abortRow();
        return new RowError(i, name, L.parser.reason);
      }
      probe.abortRow();
    }
    return new RowError(i, null, reason);
  }
}

function excerpt(t: string): string {
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

function previewNames(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

/** A delimited layout: cell k of `columns`, joined by `delim` (an unlabelled line: the label is not a column). */
function delimited(parser: LineParser, fields: FieldInfo[], denseNames: string[], columns: readonly string[], delim: string, quote: boolean): Layout {
  const inputs = new Map<string, Input>();
  columns.forEach((c, k) => inputs.set(c, { name: c, cell: k, list: null }));
  const blank = columns.map(() => '');
  const join = quote ? (cells: string[]): string => cells.map((c) => (c.includes(delim) || c.includes('"') ? `"${c.replace(/"/g, '""')}"` : c)).join(delim) : (cells: string[]): string => cells.join(delim);
  const name = delim === '\t' ? 'a tab' : delim === ',' ? 'a comma' : `the delimiter '${delim}'`;
  const refuse = quote ? (): string | null => null : (t: string): string | null => (t.includes(delim) ? `contains ${name}, which the training file format cannot hold in a value` : null);
  return { parser, fields, denseNames, inputs, ignored: new Set(), blank, join, refuse, positional: false, required: new Map(), probeBlank: blank, delim };
}

async function layoutOf(format: DataFormat, reader: ReaderOptions, fieldNames: readonly string[] | undefined): Promise<Layout> {
  switch (format) {
    case 'criteo': {
      // Unlabelled Criteo lines (39 columns: I1..I13, C1..C26), as the reader reads Criteo's test file.
      const dense = reader.numeric === 'dense';
      const columns = [...CRITEO_INT_FEATURES, ...CRITEO_CAT_FEATURES];
      const names = dense ? [...CRITEO_CAT_FEATURES] : columns;
      const fields = names.map((name) => ({ name, multiValued: false, weighted: false }));
      return delimited(criteoLineParser(dense), fields, dense ? [...CRITEO_INT_FEATURES] : [], columns, '\t', false);
    }
    case 'avazu': {
      if (fieldNames === undefined) throw new ConfigError('avazu: the field names of the training data are needed to lay out a row', { key: 'fieldNames' });
      // The file's columns (unlabelled): the fields in order, with hour_of_day + weekday folded back into hour.
      const columns: string[] = [];
      for (let k = 0; k < fieldNames.length; k++) {
        if (reader.splitHour === true && fieldNames[k] === 'hour_of_day' && fieldNames[k + 1] === 'weekday') {
          columns.push('hour');
          k++;
        } else columns.push(fieldNames[k]);
      }
      const { parser, fields } = avazuLineParser(columns, reader.splitHour === true);
      const L = delimited(parser, fields, [], columns, ',', false);
      // A training weight column (never a feature) is accepted and ignored like id and click: scores need no weight.
      L.ignored = new Set(['id', 'click', ...(reader.weightColumn !== undefined ? [reader.weightColumn] : [])]);
      if (reader.splitHour === true) {
        // The reader splits hour into two fields and has no missing hour; blame() probes others with a valid one.
        L.required.set('hour', 'missing: the model splits hour (YYMMDDHH) into hour_of_day and weekday, so it is required');
        L.probeBlank = L.blank.slice();
        L.probeBlank[columns.indexOf('hour')] = '14102100';
      }
      return L;
    }
    case 'csv':
    case 'tsv':
    case 'parquet': {
      const schema = await loadSchema(reader.schema);
      const delim = format === 'parquet' ? ',' : (schema.delimiter ?? (format === 'tsv' ? '\t' : ','));
      const columns = [...schema.categorical, ...schema.numeric.map((n) => n.name), ...schema.multi.map((m) => m.name)];
      const { parser, fields, denseNames } = csvLineParser(schema, columns, delim, format === 'parquet' ? 'csv' : format);
      const L = delimited(parser, fields, denseNames, columns, delim, true);
      L.ignored = new Set([schema.label, ...(reader.weightColumn !== undefined ? [reader.weightColumn] : [])]);
      for (const m of schema.multi) (L.inputs.get(m.name) as Input).list = m.separator;
      return L;
    }
    case 'libsvm':
    case 'libfm':
    case 'libffm': {
      const n = reader.numFields;
      if (n === undefined || !Number.isInteger(n) || n < 1) throw new ConfigError(`${format}: numFields is needed to lay out a row, got ${String(n)}`, { key: 'numFields' });
      const ffm = format === 'libffm';
      // valueWeights false (a 0.1.0 model file, see models/model-codec.ts ignoresValueWeights): every value weighs 1, as in its training.
      const weighted = reader.valueWeights !== false;
      const parser = ffm ? ffmLineParser(n, reader.minFeatures ?? 0) : svmLineParser(n, reader.minFeatures ?? 0, weighted);
      const fields = Array.from({ length: n }, (_, k) => ({ name: `f${k}`, multiValued: ffm, weighted, ...(ffm ? { pooling: 'sum' as const } : {}) }));
      const inputs = new Map<string, Input>();
      // Unlabelled lines: libsvm cells are the tokens (cell k = field k); libffm cells hold "k:token" items.
      for (let k = 0; k < n; k++) inputs.set(`f${k}`, { name: `f${k}`, cell: k, list: ffm ? ' ' : null });
      return {
        parser,
        fields,
        denseNames: [],
        inputs,
        ignored: new Set(),
        blank: new Array<string>(n).fill(''),
        join: (cells) => cells.filter((c) => c !== '').join(' '),
        refuse: (t) => (/[ \t]/.test(t) ? 'contains a space or tab, which separates tokens in the training file format' : t === '' ? 'is empty (send null or leave the field out for a missing value)' : null),
        positional: !ffm,
        required: new Map(),
        probeBlank: new Array<string>(n).fill(''),
      };
    }
    default:
      throw new ConfigError(`no row encoder for data format '${String(format)}'`, { key: 'format' });
  }
}
