// Reader for raw Avazu CSV (Kaggle CTR Prediction 2014): a header line, `id` dropped, `click` is the label, every
// other column is categorical. Optionally `hour` (YYMMDDHH) becomes hour-of-day and weekday fields.

import { ConfigError, DataError } from '../core/errors.js';
import type { ChunkBuilder, FieldInfo } from './chunk.js';
import type { DataReader, ReaderOptions } from './reader.js';
import { displayName } from './source.js';
import { IntIdCache, ShortTokenCache, label01, quote } from './tokens.js';
import { TextReader, normalizeCommon, previewColumns, readHeader, sampleWeightOf } from './text-reader.js';
import type { LineParser } from './text-reader.js';

interface AvazuLayout {
  columns: number;
  labelCol: number;
  /** For each column, its output field (-1: dropped or label). */
  fieldOf: Int32Array;
  hourCol: number;
  /** Field index of hour_of_day (weekday is the next one) when split, else -1. */
  hourField: number;
  /** Column whose text goes to the chunk's keys (-1: none). */
  idCol: number;
  /** Column read into the rows' sample weights (-1: none), and its name. */
  weightCol: number;
  weightName: string;
}

class AvazuParser implements LineParser {
  kind = '';
  reason = '';
  private readonly seps: Int32Array;
  private readonly tokens: ShortTokenCache;
  private readonly weekdayIds: IntIdCache | null;
  private readonly weekdayOf = new Map<number, number>();

  constructor(private readonly L: AvazuLayout, numFields: number) {
    this.seps = new Int32Array(L.columns + 1);
    this.tokens = new ShortTokenCache(numFields);
    this.weekdayIds = L.hourField >= 0 ? new IntIdCache([L.hourField + 1], 0, 7) : null;
  }

  parse(buf: Uint8Array, start: number, end: number, b: ChunkBuilder): boolean {
    const L = this.L;
    const seps = this.seps;
    seps[0] = start - 1;
    let n = 1;
    for (let i = start; i < end; i++) {
      if (buf[i] === 44) {
        if (n < L.columns) seps[n] = i;
        n++;
      }
    }
    if (n !== L.columns) return this.fail('field-count', `expected ${L.columns} comma-separated fields, got ${n}`);
    seps[L.columns] = end;
    const row = b.rows;
    if (L.idCol >= 0) (b.keys as string[])[row] = Buffer.from(buf.buffer, buf.byteOffset + seps[L.idCol] + 1, seps[L.idCol + 1] - seps[L.idCol] - 1).toString('utf8');
    for (let c = 0; c < L.columns; c++) {
      const s = seps[c] + 1;
      const e = seps[c + 1];
      if (c === L.labelCol) {
        const y = label01(buf, s, e);
        if (y < 0) return this.fail('label', `click ${quote(buf, s, e)} is not 0/1`);
        b.labels[row] = y;
      } else if (c === L.weightCol) {
        const w = sampleWeightOf(buf, s, e, L.weightName);
        if (typeof w === 'string') return this.fail('weight', w);
        (b.sampleWeights as Float32Array)[row] = w;
      } else if (c === L.hourCol && L.hourField >= 0) {
        let ok = e - s === 8;
        for (let i = s; ok && i < e; i++) ok = buf[i] >= 48 && buf[i] <= 57;
        if (ok) {
          const hh = (buf[e - 2] - 48) * 10 + (buf[e - 1] - 48);
          const yymmdd = parseDigits(buf, s, s + 6);
          let wd = this.weekdayOf.get(yymmdd);
          if (wd === undefined) {
            const y = 2000 + Math.floor(yymmdd / 10000);
            const m = Math.floor(yymmdd / 100) % 100;
            const d = yymmdd % 100;
            const date = new Date(Date.UTC(y, m - 1, d));
            wd = date.getUTCMonth() === m - 1 && date.getUTCDate() === d ? date.getUTCDay() : -1;
            this.weekdayOf.set(yymmdd, wd);
          }
          ok = hh < 24 && wd >= 0;
          if (ok) {
            this.tokens.hash(buf, e - 2, e, L.hourField, b.ids[L.hourField], row);
            (this.weekdayIds as IntIdCache).write(0, L.hourField + 1, wd as number, b.ids[L.hourField + 1], row);
          }
        }
        if (!ok) return this.fail('hour', `hour ${quote(buf, s, e)} is not a valid YYMMDDHH time`);
      } else {
        const f = L.fieldOf[c];
        if (f >= 0) this.tokens.hash(buf, s, e, f, b.ids[f], row);
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

function parseDigits(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) v = v * 10 + (buf[i] - 48);
  return v;
}

/** Fields and column layout of an Avazu header's columns (names already checked unique and non-empty). */
function avazuLayout(cols: readonly string[], split: boolean, clickCol: number, labelCol: number, idCol: number, name: string, weight: { col: number; drop: number; name: string } = { col: -1, drop: -1, name: '' }): { layout: AvazuLayout; fields: FieldInfo[] } {
  const hourCol = cols.indexOf('hour');
  if (split && hourCol < 0) throw new DataError(`${name}:1: splitHour is set but the header has no 'hour' column`, { file: name, line: 1 });
  const fieldOf = new Int32Array(cols.length).fill(-1);
  const names: string[] = [];
  let hourField = -1;
  cols.forEach((c, i) => {
    if (c === 'id' || i === clickCol || i === weight.drop) return;
    if (split && i === hourCol) {
      hourField = names.length;
      names.push('hour_of_day', 'weekday');
      return;
    }
    fieldOf[i] = names.length;
    names.push(c);
  });
  const fields: FieldInfo[] = names.map((n) => ({ name: n, multiValued: false, weighted: false }));
  const layout: AvazuLayout = { columns: cols.length, labelCol, fieldOf, hourCol: split ? hourCol : -1, hourField, idCol, weightCol: weight.col, weightName: weight.name };
  return { layout, fields };
}

/**
 * The line parser openAvazu builds for an unlabelled file of these columns (RowEncoder scores JSON rows with it).
 * A 'click' column is dropped, never a feature.
 */
export function avazuLineParser(cols: readonly string[], splitHour: boolean): { parser: LineParser; fields: FieldInfo[] } {
  const { layout, fields } = avazuLayout(cols, splitHour, cols.indexOf('click'), -1, -1, '<row>');
  return { parser: new AvazuParser(layout, fields.length), fields };
}

/**
 * Fields: the header's columns minus `id` and `click`, in file order (seed = position in that list); with
 * splitHour, `hour` is replaced in place by `hour_of_day` ("00".."23" as written) and `weekday` ("0" = Sunday).
 */
export async function openAvazu(path: string, options: ReaderOptions = {}): Promise<DataReader> {
  const common = normalizeCommon(options);
  if (options.splitHour !== undefined && typeof options.splitHour !== 'boolean') {
    throw new ConfigError(`splitHour must be true or false`, { key: 'splitHour' });
  }
  const { header, pending } = await readHeader(path, common.maxLineBytes);
  const name = displayName(path);
  const cols = header.split(',').map((c) => c.trim());
  // A repeated name is ambiguous (a second 'click' became a feature: the label leaked into the model); an empty one
  // is a damaged header.
  const firstAt = new Map<string, number>();
  cols.forEach((c, i) => {
    if (c === '') throw new DataError(`${name}:1: header column ${i + 1} has no name`, { file: name, line: 1 });
    const j = firstAt.get(c);
    if (j !== undefined) throw new DataError(`${name}:1: header names column '${c}' twice (columns ${j + 1} and ${i + 1})`, { file: name, line: 1 });
    firstAt.set(c, i);
  });
  const clickCol = cols.indexOf('click');
  if (clickCol < 0 && common.labels === 'require') {
    const hint = cols.length === 1 && header.includes('\t') ? '; the header has tabs, not commas: is this a TSV file (--format tsv with a schema)?' : '; is this comma-separated Avazu data? Unlabelled rows (Avazu\'s test file) can be scored with `bhembed predict`';
    throw new DataError(`${name}:1: header has no 'click' column (columns: ${previewColumns(cols)})${hint}`, { file: name, line: 1 });
  }
  // 'none' reads the rows without a label; a click column present anyway is dropped, never a feature.
  const hasLabels = clickCol >= 0 && common.labels !== 'none';
  const labelCol = hasLabels ? clickCol : -1;
  let idCol = -1;
  if (options.idColumn !== undefined) {
    idCol = cols.indexOf(options.idColumn);
    if (idCol < 0) throw new DataError(`${name}:1: id column '${options.idColumn}' is not in the header (columns: ${previewColumns(cols)})`, { file: name, line: 1 });
  }
  // A weight column is never a feature: dropped like `id` whatever the mode (a model trained with it dropped it).
  let weight = { col: -1, drop: -1, name: '' };
  if (options.weightColumn !== undefined) {
    const w = options.weightColumn;
    const at = cols.indexOf(w);
    if (w === 'click' || w === 'id' || (options.splitHour === true && w === 'hour')) throw new ConfigError(`weight column '${w}' is avazu's ${w === 'click' ? 'label' : w === 'id' ? 'row id' : 'hour'} column; name the column that holds the sample weights`, { key: 'weightColumn' });
    if (at < 0 && common.weights === 'require') throw new DataError(`${name}:1: weight column '${w}' is not in the header (columns: ${previewColumns(cols)})`, { file: name, line: 1 });
    weight = { col: at >= 0 && common.weights !== 'ignore' ? at : -1, drop: at, name: w };
  }
  const { layout, fields } = avazuLayout(cols, options.splitHour === true, clickCol, labelCol, idCol, name, weight);
  return new TextReader({
    format: 'avazu',
    path,
    options: common,
    fields,
    denseNames: [],
    parser: new AvazuParser(layout, fields.length),
    hasHeader: true,
    pending,
    hasLabels,
    idColumn: options.idColumn,
    ...(weight.col >= 0 ? { weightColumn: options.weightColumn } : {}),
  });
}
