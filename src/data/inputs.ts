// Many inputs as one: a list of files, globs (`day_*.gz`) and directories of parts, expanded to files in a
// fixed order, and one pass over all of them as a single chunk stream (each file streamed, same columns checked).

import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../core/errors.js';
import type { DataChunk } from './chunk.js';
import { openReader } from './open.js';
import type { DataFormat, DataReader, PassStats, ReaderOptions } from './reader.js';
import { emptyStats } from './reader.js';
import { checkSameFields } from './same-fields.js';
import { STDIN } from './source.js';

/** Natural order: day_2 before day_10. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function globRegex(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Files of the given inputs, in order: each entry is a file (or '-' for stdin), a directory (its regular files
 * not starting with '.', in natural order) or a glob in the last path part (`logs/day_*.gz`, natural order).
 * Entries may also be joined with commas. A glob or directory that matches nothing is an IoError.
 */
export function expandInputs(inputs: string | readonly string[], flag = 'input'): string[] {
  const list = (typeof inputs === 'string' ? [inputs] : inputs).flatMap((s) => (s === STDIN ? [s] : s.split(',').filter((x) => x !== '')));
  const out: string[] = [];
  for (const entry of list) {
    if (entry === STDIN) {
      out.push(entry);
      continue;
    }
    if (/[*?]/.test(basename(entry))) {
      const dir = dirname(entry);
      const re = globRegex(basename(entry));
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        throw new IoError(`${flag} ${entry}: folder ${dir} cannot be read`, { path: entry });
      }
      const hits = names.filter((n) => re.test(n) && !n.startsWith('.')).sort(naturalCompare).map((n) => join(dir, n));
      if (hits.length === 0) throw new IoError(`${flag} ${entry}: no file matches`, { path: entry });
      out.push(...hits);
      continue;
    }
    let isDir = false;
    try {
      isDir = statSync(entry).isDirectory();
    } catch {
      // A missing file is reported by the reader with its usual message.
    }
    if (isDir) {
      const hits = readdirSync(entry)
        .filter((n) => !n.startsWith('.') && statSync(join(entry, n)).isFile())
        .sort(naturalCompare)
        .map((n) => join(entry, n));
      if (hits.length === 0) throw new IoError(`${flag} ${entry}: the folder holds no data files`, { path: entry });
      out.push(...hits);
      continue;
    }
    out.push(entry);
  }
  if (out.length === 0) throw new IoError(`${flag}: no input file given`, { path: '' });
  return out;
}

/** Can every input be read more than once (regular files, not stdin or a pipe)? */
export function rereadable(files: readonly string[]): boolean {
  return files.every((f) => {
    if (f === STDIN) return false;
    try {
      return !statSync(f).isFIFO();
    } catch {
      return true; // missing: the reader names it
    }
  });
}

/** Bytes on disk of the files (stdin and pipes count as unknown: Infinity). */
export function inputBytes(files: readonly string[]): number {
  let total = 0;
  for (const f of files) {
    if (f === STDIN) return Infinity;
    try {
      const st = statSync(f);
      if (!st.isFile()) return Infinity;
      total += st.size;
    } catch {
      return Infinity;
    }
  }
  return total;
}

/** Several files read one after the other as one input; the first file's columns are the reference. */
export class MultiFileInput {
  readonly files: string[];
  readonly format: DataFormat;
  readonly options: ReaderOptions;
  /** The first file's reader (its fields are every file's fields). */
  first!: DataReader;
  /** Counts of the last pass, summed over the files. */
  stats: PassStats = emptyStats();

  private constructor(format: DataFormat, files: string[], options: ReaderOptions) {
    this.format = format;
    this.files = files;
    this.options = options;
  }

  static async open(format: DataFormat, files: string[], options: ReaderOptions): Promise<MultiFileInput> {
    const m = new MultiFileInput(format, files, options);
    m.first = await openReader(format, files[0], options);
    // libsvm/libfm/libffm find their field count in a file: every later file takes the first file's.
    if ((format === 'libsvm' || format === 'libfm' || format === 'libffm') && options.numFields === undefined) {
      (m as { options: ReaderOptions }).options = { ...options, numFields: m.first.numFields };
    }
    return m;
  }

  /** One pass over every file in order; maxRows (reader option) counts per file. */
  async *chunks(): AsyncGenerator<DataChunk> {
    const total = emptyStats();
    this.stats = total;
    for (let i = 0; i < this.files.length; i++) {
      const r = i === 0 ? this.first : await openReader(this.format, this.files[i], this.options);
      if (i > 0) checkSameFields(this.files[i], r, this.files[0], this.first);
      for await (const c of r.chunks()) yield c;
      total.lines += r.stats.lines;
      total.rows += r.stats.rows;
      total.skippedRows += r.stats.skippedRows;
      for (const [k, n] of Object.entries(r.stats.skipped.counts)) {
        if (total.skipped.counts[k] === undefined) {
          total.skipped.counts[k] = 0;
          total.skipped.examples[k] = r.stats.skipped.examples[k];
        }
        total.skipped.counts[k] += n;
      }
    }
  }
}
