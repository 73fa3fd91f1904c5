// The one entry point consumers use to read data: openReader(format, path, options) picks the format's reader.
// Adding a format = one reader file + one case here.

import { ConfigError } from '../core/errors.js';
import { openAvazu } from './avazu.js';
import { openCriteo } from './criteo.js';
import { openCsv } from './csv.js';
import { openLibffm, openLibsvm } from './libsvm.js';
import { openParquet } from './parquet.js';
import { DATA_FORMATS } from './reader.js';
import type { DataFormat, DataReader, ReaderOptions } from './reader.js';

/**
 * Open a streaming reader. path is a file (gzip detected by magic bytes) or '-' for stdin (one pass only).
 *
 * @example
 *   const reader = await openReader('criteo', 'day_0.gz', { chunkRows: 4096, onError: 'skip' });
 *   for await (const chunk of reader.chunks()) {
 *     chunk.labels; chunk.fields[f].ids; // 2 u32 words per id
 *   }
 */
export async function openReader(format: DataFormat, path: string, options: ReaderOptions = {}): Promise<DataReader> {
  switch (format) {
    case 'criteo':
      return openCriteo(path, options);
    case 'avazu':
      return openAvazu(path, options);
    case 'libsvm':
    case 'libfm':
      return openLibsvm(format, path, options);
    case 'libffm':
      return openLibffm(path, options);
    case 'csv':
    case 'tsv':
      return openCsv(format, path, options);
    case 'parquet':
      return openParquet(path, options);
    default:
      throw new ConfigError(`format must be one of: ${DATA_FORMATS.join(', ')} (got '${String(format)}')`, { key: 'format' });
  }
}
