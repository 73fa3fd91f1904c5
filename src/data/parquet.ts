// Reader for Parquet files through hyparquet, loaded lazily (await import) so text-only users never pay for it.
// Reads one row group at a time (bounded memory); roles come from the same schema as csv (schema.ts), or defaults.
// Parquet has no lines: messages say `file:N` with N the 1-based row number.

import { ConfigError, DataError, IoError, dataError } from '../core/errors.js';
import { xxh64Bytes } from '../hash/xxh64.js';
import { ChunkBuilder } from './chunk.js';
import type { DataChunk, FieldInfo } from './chunk.js';
import { emptyStats, recordSkip } from './reader.js';
import type { DataReader, PassStats, ReaderOptions } from './reader.js';
import { bucketIndex, loadSchema } from './schema.js';
import type { NormalizedNumeric, NormalizedSchema } from './schema.js';
import { STDIN, checkInput } from './source.js';
import { FLOAT32_MAX, logSquaredBucket } from './tokens.js';
import { otherCompression } from './lines.js';
import { normalizeCommon } from './text-reader.js';
import type { NormalizedCommon } from './text-reader.js';

const ENCODER = new TextEncoder();

type Role =
  | { kind: 'label'; col: string }
  | { kind: 'weight'; col: string }
  | { kind: 'cat'; col: string; field: number }
  | { kind: 'bucket'; col: string; field: number; boundaries: number[] | null }
  | { kind: 'multi'; col: string; field: number; separator: string }
  | { kind: 'dense'; col: string; index: number; transform: 'none' | 'log1p' };

class RowError extends Error {
  constructor(
    readonly kind: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function labelOf(v: unknown): number {
  if (v === true || v === 1 || v === 1n || v === '1') return 1;
  if (v === false || v === 0 || v === 0n || v === -1 || v === -1n || v === '0' || v === '-1') return 0;
  return -1;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

class ParquetReader implements DataReader {
  readonly format = 'parquet' as const;
  readonly canRewind = true;
  readonly hasLabels: boolean;
  readonly idColumn?: string;
  readonly weightColumn?: string;
  readonly fieldNames: readonly string[];
  readonly numFields: number;
  readonly denseNames: readonly string[];
  readonly numDense: number;
  stats: PassStats = emptyStats();
  private scratch = new Uint8Array(256);

  constructor(
    readonly path: string,
    readonly fields: readonly FieldInfo[],
    denseNames: string[],
    private readonly roles: Role[],
    private readonly opts: NormalizedCommon,
    idColumn?: string,
  ) {
    this.hasLabels = roles.some((r) => r.kind === 'label');
    const w = roles.find((r) => r.kind === 'weight');
    if (w !== undefined) this.weightColumn = w.col;
    if (idColumn !== undefined) this.idColumn = idColumn;
    this.fieldNames = fields.map((f) => f.name);
    this.numFields = fields.length;
    this.denseNames = denseNames;
    this.numDense = denseNames.length;
  }

  /** XXH64 of the value's UTF-8 text (numbers as String(v), null → ""), seed = field. */
  private hashValue(v: unknown, f: number, out: Uint32Array, idx: number): void {
    if (v instanceof Uint8Array) {
      xxh64Bytes(v, 0, v.length, f, out, idx);
      return;
    }
    const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
    if (this.scratch.length < 3 * s.length) this.scratch = new Uint8Array(3 * s.length + 16);
    const n = ENCODER.encodeInto(s, this.scratch).written;
    xxh64Bytes(this.scratch, 0, n, f, out, idx);
  }

  private fillRow(row: Record<string, unknown>, b: ChunkBuilder): void {
    const r = b.rows;
    for (const role of this.roles) {
      const v = row[role.col];
      switch (role.kind) {
        case 'label': {
          const y = labelOf(v);
          if (y < 0) throw new RowError('label', `label ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not 0/1`);
          b.labels[r] = y;
          break;
        }
        case 'weight': {
          const x = v === null || v === undefined ? NaN : toNumber(v);
          if (!(x >= 0 && x <= FLOAT32_MAX)) {
            const what = v === null || v === undefined ? 'is empty' : Number.isNaN(x) ? 'is not a number' : x < 0 ? 'is negative' : 'is beyond the float32 range';
            throw new RowError('weight', `weight column '${role.col}' value ${JSON.stringify(typeof v === 'bigint' ? String(v) : v ?? null)} ${what} (weights are numbers ≥ 0)`);
          }
          (b.sampleWeights as Float32Array)[r] = x;
          break;
        }
        case 'cat':
          this.hashValue(v, role.field, b.ids[role.field], r);
          break;
        case 'bucket': {
          if (v === null || v === undefined) {
            this.hashValue('', role.field, b.ids[role.field], r);
            break;
          }
          const x = toNumber(v);
          if (!Number.isFinite(x)) throw new RowError('number', `${role.col} value ${JSON.stringify(String(v))} is not a number`);
          const cat = role.boundaries ? bucketIndex(x, role.boundaries) : logSquaredBucket(Math.floor(x));
          this.hashValue(String(cat), role.field, b.ids[role.field], r);
          break;
        }
        case 'multi': {
          const items: unknown[] = Array.isArray(v) ? v : v === null || v === undefined ? [''] : String(v).split(role.separator);
          for (const item of items.length > 0 ? items : ['']) {
            const k = b.pushValue(role.field, 1);
            this.hashValue(item, role.field, b.ids[role.field], k);
          }
          break;
        }
        case 'dense': {
          let x = 0;
          if (v !== null && v !== undefined) {
            x = toNumber(v);
            if (!Number.isFinite(x)) throw new RowError('number', `${role.col} value ${JSON.stringify(String(v))} is not a number`);
            if (Math.abs(x) > FLOAT32_MAX) throw new RowError('number', `${role.col} value ${JSON.stringify(String(v))} is beyond the float32 range (±3.4e38)`);
            if (role.transform === 'log1p') x = Math.log1p(Math.max(x, 0));
          }
          (b.dense as Float32Array)[r * b.numDense + role.index] = x;
          break;
        }
      }
    }
  }

  async *chunks(): AsyncGenerator<DataChunk, void, undefined> {
    await checkInput(this.path);
    const hp = await import('hyparquet');
    const file = await hp.asyncBufferFromFile(this.path);
    const metadata = await readMetadata(hp, file, this.path);
    const columns = [...new Set([...this.roles.map((r) => r.col), ...(this.idColumn !== undefined ? [this.idColumn] : [])])];
    const stats = (this.stats = emptyStats());
    const b = new ChunkBuilder(this.opts.chunkRows, this.fields, this.numDense, { keys: this.idColumn !== undefined, sampleWeights: this.weightColumn !== undefined });
    let start = 0;
    for (const g of metadata.row_groups) {
      const n = Number(g.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = (await hp.parquetReadObjects({ file, metadata, columns, rowStart: start, rowEnd: start + n, rowFormat: 'object' })) as Record<string, unknown>[];
      } catch (e) {
        // hyparquet fails on damaged pages with RangeError/TypeError etc.; that is bad input, not a bug of ours
        throw new DataError(`${this.path}: corrupt Parquet data in rows ${start + 1}–${start + n} (${(e as Error).message})`, { file: this.path });
      }
      if (rows.length !== n) throw new DataError(`${this.path}: corrupt Parquet data: rows ${start + 1}–${start + n} decoded to ${rows.length} rows`, { file: this.path });
      for (let i = 0; i < rows.length; i++) {
        const rowNo = start + i + 1;
        stats.lines = rowNo;
        try {
          b.labels[b.rows] = 0;
          if (b.sampleWeights !== null) b.sampleWeights[b.rows] = 1;
          b.positions[b.rows] = rowNo - 1;
          if (this.idColumn !== undefined) {
            const k = rows[i][this.idColumn];
            (b.keys as string[])[b.rows] = k === null || k === undefined ? '' : k instanceof Uint8Array ? Buffer.from(k).toString('utf8') : String(k);
          }
          this.fillRow(rows[i], b);
          b.commitRow();
          stats.rows++;
        } catch (e) {
          if (!(e instanceof RowError)) throw e;
          b.abortRow();
          if (this.opts.onError === 'fail') throw dataError(this.path, rowNo, e.reason);
          recordSkip(stats, e.kind, `${this.path}:${rowNo}: ${e.reason}`);
        }
        if (b.full) yield b.take();
        if (stats.rows >= this.opts.maxRows) break;
      }
      start += n;
      if (stats.rows >= this.opts.maxRows) break;
    }
    if (start === 0) throw new DataError(`${this.path}: Parquet file has no rows`, { file: this.path });
    if (b.rows > 0) yield b.take();
  }
}

type Hyparquet = typeof import('hyparquet');
type Metadata = Awaited<ReturnType<Hyparquet['parquetMetadataAsync']>>;

async function readMetadata(hp: Hyparquet, file: Awaited<ReturnType<Hyparquet['asyncBufferFromFile']>>, path: string): Promise<Metadata> {
  if (file.byteLength === 0) throw new DataError(`${path}: file is empty`, { file: path });
  const head = new Uint8Array(await file.slice(0, Math.min(10, file.byteLength)));
  if (!(head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31)) {
    const packed = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : otherCompression(head);
    const hint = packed !== null ? `; it is ${packed}-compressed: decompress it first (Parquet compresses inside the file)` : '';
    throw new DataError(`${path}: not a Parquet file (no PAR1 magic at the start)${hint}`, { file: path });
  }
  try {
    return await hp.parquetMetadataAsync(file);
  } catch (e) {
    throw new DataError(`${path}: corrupt Parquet metadata (${(e as Error).message})`, { file: path });
  }
}

/**
 * Roles without a schema: label = the first of 'label', 'click', 'y' present (else the first column); FLOAT and
 * DOUBLE columns → dense; every other column → categorical. With a schema: exactly as csv (schema.ts).
 */
export async function openParquet(path: string, options: ReaderOptions = {}): Promise<DataReader> {
  const common = normalizeCommon(options);
  if (path === STDIN) throw new IoError('Parquet needs a seekable file; it cannot be read from stdin', { path });
  await checkInput(path);
  const hp = await import('hyparquet');
  const file = await hp.asyncBufferFromFile(path);
  const metadata = await readMetadata(hp, file, path);
  const tree = hp.parquetSchema(metadata);
  const colTypes = new Map<string, string | undefined>(tree.children.map((c) => [c.element.name, c.element.type]));
  const names = [...colTypes.keys()];
  let schema: NormalizedSchema;
  if (options.schema !== undefined) {
    schema = await loadSchema(options.schema);
  } else {
    const label = ['label', 'click', 'y'].find((n) => colTypes.has(n)) ?? names[0];
    if (label === undefined) throw new DataError(`${path}: Parquet file has no columns`, { file: path });
    const rest = names.filter((n) => n !== label && n !== options.weightColumn);
    const isFloat = (n: string): boolean => colTypes.get(n) === 'FLOAT' || colTypes.get(n) === 'DOUBLE';
    schema = {
      delimiter: undefined,
      header: true,
      label,
      categorical: rest.filter((n) => !isFloat(n)),
      numeric: rest.filter(isFloat).map((n): NormalizedNumeric => ({ name: n, mode: 'dense', transform: 'none', boundaries: null })),
      multi: [],
    };
  }
  // The label: required, ignored ('none'), or read when the file has the column ('detect').
  const hasLabels = common.labels === 'require' || (common.labels === 'detect' && colTypes.has(schema.label));
  const roles: Role[] = hasLabels ? [{ kind: 'label', col: schema.label }] : [];
  // The weight column: never a feature; read ('require', or 'detect' when the file has it) or left unread.
  const wc = options.weightColumn;
  if (wc !== undefined) {
    const role = wc === schema.label ? 'label' : schema.categorical.includes(wc) ? 'categorical' : schema.numeric.some((n) => n.name === wc) ? 'numeric' : schema.multi.some((m) => m.name === wc) ? 'multi' : null;
    if (role !== null) throw new ConfigError(`weight column '${wc}' is also the schema's ${role === 'label' ? 'label' : `${role} column`}; a sample weight is not a feature: remove it from the schema or name another column`, { key: 'weightColumn' });
    if (!colTypes.has(wc) && common.weights === 'require') throw new ConfigError(`weight column '${wc}' is not in ${path} (columns: ${names.slice(0, 12).join(', ')})`, { key: 'weightColumn' });
    if (colTypes.has(wc) && common.weights !== 'ignore') roles.push({ kind: 'weight', col: wc });
  }
  const fields: FieldInfo[] = [];
  const denseNames: string[] = [];
  for (const c of schema.categorical) {
    roles.push({ kind: 'cat', col: c, field: fields.length });
    fields.push({ name: c, multiValued: false, weighted: false });
  }
  for (const n of schema.numeric) {
    if (n.mode !== 'bucket') continue;
    roles.push({ kind: 'bucket', col: n.name, field: fields.length, boundaries: n.boundaries });
    fields.push({ name: n.name, multiValued: false, weighted: false });
  }
  for (const m of schema.multi) {
    roles.push({ kind: 'multi', col: m.name, field: fields.length, separator: m.separator });
    fields.push({ name: m.name, multiValued: true, weighted: false, pooling: m.pooling });
  }
  for (const n of schema.numeric) {
    if (n.mode !== 'dense') continue;
    roles.push({ kind: 'dense', col: n.name, index: denseNames.length, transform: n.transform });
    denseNames.push(n.name);
  }
  for (const r of roles) {
    if (!colTypes.has(r.col)) {
      const hint = r.kind === 'label' ? '; unlabelled rows can be scored with `bhembed predict` (it detects the missing label)' : '';
      throw new ConfigError(`schema column '${r.col}' is not in ${path} (columns: ${names.slice(0, 12).join(', ')})${hint}`, { key: 'schema' });
    }
  }
  if (options.idColumn !== undefined && !colTypes.has(options.idColumn)) {
    throw new ConfigError(`id column '${options.idColumn}' is not in ${path} (columns: ${names.slice(0, 12).join(', ')})`, { key: 'idColumn' });
  }
  return new ParquetReader(path, fields, denseNames, roles, common, options.idColumn);
}
