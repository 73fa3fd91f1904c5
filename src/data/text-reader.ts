// The shared engine of every line-oriented reader (criteo, avazu, libsvm/libfm, libffm, csv/tsv): passes, header
// handling, chunking, and the fail/skip policy. A format only supplies a LineParser that fills one row.

import { ConfigError, DataError, IoError, dataError } from '../core/errors.js';
import { ChunkBuilder } from './chunk.js';
import type { DataChunk, FieldInfo } from './chunk.js';
import { LINE_OK, lineFlagReason, sniffBinary, splitLines } from './lines.js';
import type { LineBatch } from './lines.js';
import { LABEL_MODES, WEIGHT_MODES, emptyStats, recordSkip } from './reader.js';
import type { DataFormat, DataReader, LabelMode, OnError, PassStats, ReaderOptions, WeightMode } from './reader.js';
import { parseFloatBytes, quote } from './tokens.js';
import { STDIN, checkInput, displayName, openBytes, takeStdin } from './source.js';

export const DEFAULT_CHUNK_ROWS = 8192;

/** Why a line holding a carriage return that no newline follows is likely bad: CR-only line endings. */
function crHint(what: string): string {
  return `${what} contains a carriage return (\\r) not followed by a newline: are the line endings CR only (classic Mac)? Convert them with tr '\\r' '\\n'`;
}
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

/** Fills row `b.rows` of the builder from buf[start, end). On a bad line: set kind/reason, return false. */
export interface LineParser {
  parse(buf: Uint8Array, start: number, end: number, b: ChunkBuilder): boolean;
  /** Short reason class for skip counts, e.g. 'field-count'. */
  kind: string;
  /** Full reason for the message, e.g. "expected 40 tab-separated fields, got 38". */
  reason: string;
  /** Called at the start of each pass. */
  reset?(): void;
}

export interface NormalizedCommon {
  chunkRows: number;
  onError: OnError;
  maxLineBytes: number;
  maxRows: number;
  labels: LabelMode;
  weights: WeightMode;
}

export function normalizeCommon(o: ReaderOptions): NormalizedCommon {
  const labels = o.labels ?? 'require';
  if (!LABEL_MODES.includes(labels)) throw new ConfigError(`labels must be one of: ${LABEL_MODES.map((m) => `'${m}'`).join(', ')} (got '${String(labels)}')`, { key: 'labels' });
  if (o.idColumn !== undefined && (typeof o.idColumn !== 'string' || o.idColumn === '')) throw new ConfigError('idColumn must be a column name', { key: 'idColumn' });
  if (o.weightColumn !== undefined && (typeof o.weightColumn !== 'string' || o.weightColumn === '')) throw new ConfigError('weightColumn must be a column name', { key: 'weightColumn' });
  const weights = o.weights ?? 'require';
  if (!WEIGHT_MODES.includes(weights)) throw new ConfigError(`weights must be one of: ${WEIGHT_MODES.map((m) => `'${m}'`).join(', ')} (got '${String(weights)}')`, { key: 'weights' });
  if (o.weightColumn !== undefined && o.weightColumn === o.idColumn && weights !== 'ignore') throw new ConfigError(`weightColumn '${o.weightColumn}' is also the idColumn; a weight is a number per row, an id names the row`, { key: 'weightColumn' });
  if (o.minFeatures !== undefined && !(Number.isInteger(o.minFeatures) && o.minFeatures >= 0)) throw new ConfigError(`minFeatures must be an integer ≥ 0, got ${String(o.minFeatures)}`, { key: 'minFeatures' });
  const chunkRows = o.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new ConfigError(`chunkRows must be a positive integer, got ${chunkRows}`, { key: 'chunkRows' });
  const onError = o.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'skip') throw new ConfigError(`onError must be one of: 'fail', 'skip' (got '${String(onError)}')`, { key: 'onError' });
  const maxLineBytes = o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new ConfigError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`, { key: 'maxLineBytes' });
  const maxRows = o.maxRows ?? Infinity;
  if (!(maxRows >= 0)) throw new ConfigError(`maxRows must be ≥ 0, got ${maxRows}`, { key: 'maxRows' });
  return { chunkRows, onError, maxLineBytes, maxRows, labels, weights };
}

/** A pass that was started before chunks() (stdin: the header line was already consumed). */
interface PendingPass {
  lines: AsyncGenerator<LineBatch>;
  batch: LineBatch | null;
  index: number;
}

/** Line batches of one pass, after the binary sniff of the first block. Claims stdin when path is '-'. */
export async function openLines(path: string, maxLineBytes: number): Promise<AsyncGenerator<LineBatch>> {
  if (path === STDIN) takeStdin();
  const { blocks } = await openBytes(path);
  const name = displayName(path);
  async function* sniffed(): AsyncGenerator<Uint8Array> {
    let first = true;
    try {
      for (;;) {
        const n = await blocks.next();
        if (n.done) return;
        if (first) {
          first = false;
          // A UTF-8 byte-order mark (Windows editors, Excel) is not data: without this a headerless file's first
          // label read as '\uFEFF0' and failed as "label '0' is not 0/1".
          if (n.value.length >= 3 && n.value[0] === 0xef && n.value[1] === 0xbb && n.value[2] === 0xbf) n.value = n.value.subarray(3);
          const why = sniffBinary(n.value);
          if (why !== null) {
            const nul = n.value.indexOf(0);
            let line = 1;
            if (nul > 0 && why.startsWith('binary')) for (let i = 0; i < nul; i++) if (n.value[i] === 10) line++;
            throw dataError(name, line, why);
          }
        }
        yield n.value;
      }
    } finally {
      await blocks.return(undefined);
    }
  }
  return splitLines(sniffed(), maxLineBytes);
}

/**
 * Read the header line of a text file. For stdin the pass stays open and becomes the reader's first pass.
 * Throws DataError when the input is empty.
 */
export async function readHeader(path: string, maxLineBytes: number, opts: { asData?: boolean } = {}): Promise<{ header: string; pending?: PendingPass }> {
  await checkInput(path);
  const lines = await openLines(path, maxLineBytes);
  const name = displayName(path);
  const first = await lines.next();
  if (first.done) {
    await lines.return(undefined);
    throw new DataError(`${name}: file is empty${opts.asData ? '' : ', expected a header line'}`, { file: name });
  }
  const batch = first.value;
  if (batch.flags[0] !== LINE_OK) {
    await lines.return(undefined);
    throw dataError(name, 1, lineFlagReason(batch.flags[0], maxLineBytes).reason);
  }
  const header = Buffer.from(batch.buf.buffer, batch.buf.byteOffset + batch.starts[0], batch.ends[0] - batch.starts[0]).toString('utf8').replace(/^\uFEFF/, ''); // drop a UTF-8 byte-order mark
  if (header.includes('\r') && !opts.asData) {
    await lines.return(undefined);
    throw dataError(name, 1, crHint('the header line'));
  }
  if (path === STDIN) return { header, pending: { lines, batch, index: opts.asData ? 0 : 1 } };
  await lines.return(undefined);
  return { header };
}

/**
 * Header cells split on `delim`, RFC 4180 quotes removed ("a,b" is one cell, "" is a quote) and whitespace trimmed.
 * null when a quote is unbalanced or misplaced.
 */
export function splitHeader(header: string, delim: string): string[] | null {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (i < header.length && (header[i] === ' ' || (header[i] === '\t' && delim !== '\t'))) i++;
    let cell = '';
    if (header[i] === '"') {
      i++;
      for (;;) {
        if (i >= header.length) return null;
        if (header[i] === '"') {
          if (header[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += header[i++];
      }
      while (i < header.length && header[i] !== delim) {
        if (header[i] !== ' ' && header[i] !== '\t') return null;
        i++;
      }
    } else {
      const j = header.indexOf(delim, i);
      cell = (j < 0 ? header.slice(i) : header.slice(i, j)).trim();
      if (cell.includes('"')) return null;
      i = j < 0 ? header.length : j;
    }
    cells.push(cell);
    if (i >= header.length) return cells;
    i++; // delimiter
  }
}

/** A format without named columns cannot pass an id through: say so instead of ignoring the option. */
export function noIdColumn(format: string, o: ReaderOptions): void {
  if (o.idColumn !== undefined) {
    throw new ConfigError(`idColumn '${o.idColumn}': ${format} rows have no named columns to pass through; rows are identified by their position (the row number)`, { key: 'idColumn' });
  }
}

/** A format without named columns cannot read a weight column: say so, and how to read such a file with weights. */
export function noWeightColumn(format: string, o: ReaderOptions): void {
  if (o.weightColumn !== undefined && (o.weights ?? 'require') !== 'ignore') {
    const how =
      format === 'criteo'
        ? 'read a Criteo-style file with an extra weight column as --format tsv with a schema of "header": false, which names columns by 0-based position (label "0", …, weight "40")'
        : 'give each row its weight by repeating it, or convert the file to csv/tsv with a weight column';
    throw new ConfigError(`weightColumn '${o.weightColumn}': ${format} rows have no named columns to take a sample weight from; ${how}`, { key: 'weightColumn' });
  }
}

/**
 * A sample weight cell → its value, or a reason it is bad (the parser fails the row with it; the reader's message
 * then names the file and line). Weights are finite numbers ≥ 0; an empty cell is an error, not 1.
 */
export function sampleWeightOf(buf: Uint8Array, s: number, e: number, column: string): number | string {
  if (s === e) return `weight column '${column}' is empty (weights are numbers ≥ 0)`;
  const v = parseFloatBytes(buf, s, e);
  if (Number.isNaN(v)) return `weight column '${column}' value ${quote(buf, s, e)} is not a number`;
  if (!(v >= 0)) return `weight column '${column}' value ${quote(buf, s, e)} is negative (weights are numbers ≥ 0)`;
  if (!(v <= 3.4028234663852886e38)) return `weight column '${column}' value ${quote(buf, s, e)} is beyond the float32 range`;
  return v;
}

/** Column names for a message: the first 12, each cut to 30 characters. */
export function previewColumns(cols: readonly string[]): string {
  const cut = cols.slice(0, 12).map((c) => (c.length > 30 ? `${c.slice(0, 30)}…` : c).replace(/\t/g, '\\t'));
  return `${cut.join(', ')}${cols.length > 12 ? `, … (${cols.length} in all)` : ''}`;
}

export interface TextReaderInit {
  format: DataFormat;
  path: string;
  options: NormalizedCommon;
  fields: FieldInfo[];
  denseNames: string[];
  parser: LineParser;
  /** The first line of each pass is a header and is not parsed. */
  hasHeader: boolean;
  pending?: PendingPass;
  /** false: the rows carry no label (chunk labels stay 0). @default true */
  hasLabels?: boolean;
  /** The id column the parser writes into the builder's keys. */
  idColumn?: string;
  /** The weight column the parser writes into the builder's sampleWeights (read: 'require', or 'detect' found it). */
  weightColumn?: string;
  /** The parser's fewest features per row of the last pass (libsvm/libffm). */
  minFeaturesSeen?: () => number;
}

export class TextReader implements DataReader {
  readonly format: DataFormat;
  readonly path: string;
  readonly fields: readonly FieldInfo[];
  readonly fieldNames: readonly string[];
  readonly numFields: number;
  readonly denseNames: readonly string[];
  readonly numDense: number;
  readonly canRewind: boolean;
  readonly hasLabels: boolean;
  readonly idColumn?: string;
  readonly weightColumn?: string;
  stats: PassStats = emptyStats();
  private readonly minSeen?: () => number;
  private readonly opts: NormalizedCommon;
  private readonly parser: LineParser;
  private readonly hasHeader: boolean;
  private pending: PendingPass | undefined;
  private passes = 0;

  constructor(init: TextReaderInit) {
    this.format = init.format;
    this.path = init.path;
    this.fields = init.fields;
    this.fieldNames = init.fields.map((f) => f.name);
    this.numFields = init.fields.length;
    this.denseNames = init.denseNames;
    this.numDense = init.denseNames.length;
    this.canRewind = init.path !== STDIN;
    this.opts = init.options;
    this.parser = init.parser;
    this.hasHeader = init.hasHeader;
    this.pending = init.pending;
    this.hasLabels = init.hasLabels ?? true;
    if (init.idColumn !== undefined) this.idColumn = init.idColumn;
    if (init.weightColumn !== undefined) this.weightColumn = init.weightColumn;
    this.minSeen = init.minFeaturesSeen;
  }

  get minFeaturesSeen(): number | undefined {
    return this.minSeen?.();
  }

  async *chunks(): AsyncGenerator<DataChunk, void, undefined> {
    const name = displayName(this.path);
    let lines: AsyncGenerator<LineBatch>;
    let startBatch: LineBatch | null = null;
    let startIndex = 0;
    if (this.pending) {
      ({ lines, batch: startBatch, index: startIndex } = this.pending);
      this.pending = undefined;
    } else {
      if (this.path !== STDIN) {
        const { once } = await checkInput(this.path);
        if (once && this.passes > 0) {
          throw new IoError(`${this.path}: a pipe can be read only once, but a second pass over the data was asked for; give a regular file`, { path: this.path });
        }
      }
      lines = await openLines(this.path, this.opts.maxLineBytes);
      if (this.hasHeader) startIndex = 1; // first line of the first batch is the header
    }
    this.passes++;
    this.parser.reset?.();
    const stats = (this.stats = emptyStats());
    const { onError, maxLineBytes, maxRows } = this.opts;
    const parser = this.parser;
    const b = new ChunkBuilder(this.opts.chunkRows, this.fields, this.numDense, { keys: this.idColumn !== undefined, sampleWeights: this.weightColumn !== undefined });
    const sw = b.sampleWeights !== null;
    const headerLines = this.hasHeader ? 1 : 0;
    let sawLine = false;
    // Empty lines are held back until a non-empty line follows: then they are bad rows as before, but a run of
    // them at the end of the file (an editor's or `echo >>`'s extra newline) is no data and is not an error.
    let emptyRun = 0;
    let emptyFrom = 0;
    const flushEmpty = (): void => {
      if (onError === 'fail') throw dataError(name, emptyFrom, 'empty line');
      for (let k = 0; k < emptyRun; k++) recordSkip(stats, 'empty-line', `${name}:${emptyFrom + k}: empty line`);
      emptyRun = 0;
    };
    try {
      let batch: LineBatch | null = startBatch;
      let from = startIndex;
      if (batch === null) {
        const n = await lines.next();
        batch = n.done ? null : n.value;
        if (batch === null) throw new DataError(`${name}: file is empty`, { file: name });
      }
      while (batch !== null) {
        const { buf, starts, ends, flags, count, firstLine } = batch;
        if (count > from) sawLine = true;
        for (let i = from; i < count; i++) {
          const lineNo = firstLine + i;
          stats.lines = lineNo;
          const flag = flags[i];
          let ok: boolean;
          let kind = '';
          let reason = '';
          if (flag === LINE_OK && starts[i] === ends[i]) {
            if (emptyRun++ === 0) emptyFrom = lineNo;
            continue;
          }
          if (emptyRun > 0) flushEmpty();
          if (flag !== LINE_OK) {
            ok = false;
            ({ kind, reason } = lineFlagReason(flag, maxLineBytes));
          } else {
            b.labels[b.rows] = 0;
            if (sw) (b.sampleWeights as Float32Array)[b.rows] = 1;
            b.positions[b.rows] = lineNo - 1 - headerLines;
            ok = parser.parse(buf, starts[i], ends[i], b);
            if (ok) {
              b.commitRow();
              stats.rows++;
            } else {
              b.abortRow();
              kind = parser.kind;
              reason = parser.reason;
              if (buf.subarray(starts[i], ends[i]).indexOf(13) !== -1) reason += `; ${crHint('the line')}`;
            }
          }
          if (!ok) {
            if (onError === 'fail') throw dataError(name, lineNo, reason);
            recordSkip(stats, kind, `${name}:${lineNo}: ${reason}`);
          }
          if (b.full) yield b.take();
          if (stats.rows >= maxRows) break;
        }
        if (stats.rows >= maxRows) break;
        from = 0;
        const n = await lines.next();
        batch = n.done ? null : n.value;
      }
      if (!sawLine) {
        throw new DataError(this.hasHeader ? `${name}: no data rows after the header line` : `${name}: file is empty`, { file: name });
      }
      if (emptyRun > 0 && stats.rows === 0 && stats.skippedRows === 0) {
        throw new DataError(`${name}: no data rows${this.hasHeader ? ' after the header line' : ''}, only empty lines`, { file: name });
      }
      if (b.rows > 0) yield b.take();
    } finally {
      await lines.return(undefined);
    }
  }
}
