// `bhembed index`: print the hash id and the embedding rows of values under any index method, one JSON object
// per line. The quickest way to see what BH does, and what other implementations check themselves against.

import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { ConfigError, IoError, UsageError } from '../../core/errors.js';
import type { BhStrategy, IndexMethod, IndexSpec } from '../../embedding/config.js';
import { INDEX_METHODS, normalizeIndexSpec } from '../../embedding/config.js';
import { createIndexer } from '../../embedding/registry.js';
import { BatchHasher } from '../../hash/xxh64.js';
import { parseIntOpt, required } from '../options.js';

interface IndexOptions {
  method: IndexMethod;
  field: string;
  codeBits?: string;
  blockBits?: string;
  strategy: BhStrategy;
  dense?: boolean;
  rows?: string;
  remainder?: string;
  quotient?: string;
  hashes: string;
  vocabFile?: string;
  spec?: string;
}

const U64_MAX = (1n << 64n) - 1n;

export function register(program: Command): void {
  program
    .command('index')
    .description('print the hash id and embedding rows of each value: {"value","field","hash","rows"} per line')
    .argument('<values...>', 'categorical values (strings; non-negative integers with --dense)')
    .addOption(new Option('--method <name>', 'index method').choices(INDEX_METHODS as string[]).default('bh'))
    .option('--field <n>', 'field index, the XXH64 seed', '0')
    .option('--code-bits <S>', 'bh: code length S in bits, 1–64 (default 64; with --dense, the bits the largest value needs)')
    .option('--block-bits <t>', 'bh: block length t in bits, ≥ 1')
    .addOption(new Option('--strategy <name>', 'bh: how code bits are grouped into blocks').choices(['succession', 'skip']).default('succession'))
    .option('--dense', 'values are integer ids already: no hashing, the id is the code')
    .option('--rows <R>', 'hash, dhash: table rows R')
    .option('--remainder <m>', 'qr: remainder table rows m')
    .option('--quotient <q>', 'qr: quotient table rows q')
    .option('--hashes <k>', 'dhash: hashes per value k', '2')
    .option('--vocab-file <path>', 'full: a FullSpec JSON file, or a text file of values, one per line (line i → row i + 1; repeats ignored)')
    .option('--spec <json>', 'the whole index spec as JSON (overrides the method flags), e.g. {"method":"qr","remainder":10,"quotient":10}')
    .addHelpText(
      'after',
      `
Examples:
  bhembed index --block-bits 8 hello world                      bh, S = 64, succession
  bhembed index --block-bits 4 --strategy skip --field 3 hello  skip blocks, field 3 (XXH64 seed 3)
  bhembed index --dense --code-bits 20 --block-bits 5 1000 42   integer ids, no hashing
  bhembed index --method qr --remainder 1000 --quotient 777 hello
  bhembed index --block-bits 8 -- -1 --x                        values that start with '-' go after --

Exact arithmetic for every method: docs/index-spec.md`,
    )
    .action((values: string[], opts: IndexOptions) => {
      process.stdout.write(indexLines(values, opts));
    });
}

/** The command's whole output for these values and options (exported for tests). */
export function indexLines(values: string[], opts: IndexOptions): string {
  if (values.length === 0) throw new UsageError('index: give at least one value');
  const field = parseIntOpt('--field', opts.field, 0, 4294967295);
  const dense = opts.dense === true;
  const n = values.length;
  const ids = new Uint32Array(2 * n);
  let maxId = 0n;
  if (dense) {
    values.forEach((v, i) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`index --dense: '${v}' is not a non-negative integer id`);
      const id = BigInt(v);
      if (id > U64_MAX) throw new UsageError(`index --dense: ${v} does not fit in 64 bits`);
      if (id > maxId) maxId = id;
      ids[2 * i] = Number(id & 0xffffffffn);
      ids[2 * i + 1] = Number(id >> 32n);
    });
  } else {
    new BatchHasher().hashStrings(values, field, ids);
  }
  const spec = opts.spec !== undefined ? parseSpecJson(opts.spec) : specFromFlags(opts, dense, maxId, field);
  const indexer = createIndexer(spec);
  const k = indexer.rowsPerValue;
  const rows = new Int32Array(n * k);
  indexer.index(ids, n, rows);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const hash = ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0');
    lines.push(JSON.stringify({ value: values[i], field, hash, rows: Array.from(rows.subarray(i * k, (i + 1) * k)) }));
  }
  return lines.join('\n') + '\n';
}

function parseSpecJson(text: string): IndexSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`--spec: not valid JSON: ${text}`);
  }
  return normalizeIndexSpec(raw, '--spec');
}

function specFromFlags(opts: IndexOptions, dense: boolean, maxId: bigint, field: number): IndexSpec {
  switch (opts.method) {
    case 'bh': {
      const neededBits = maxId === 0n ? 1 : maxId.toString(2).length;
      const codeBits = opts.codeBits === undefined ? (dense ? neededBits : 64) : parseIntOpt('--code-bits', opts.codeBits, 1, 64);
      if (dense && codeBits < neededBits) {
        throw new UsageError(`index --dense: id ${maxId} needs ${neededBits} code bits but --code-bits is ${codeBits}`);
      }
      const blockBits = parseIntOpt('--block-bits', required('--block-bits (bh)', opts.blockBits), 1, 64);
      return normalizeIndexSpec({ method: 'bh', codeBits, blockBits, strategy: opts.strategy, dense }, 'index');
    }
    case 'hash':
      return { method: 'hash', rows: parseIntOpt('--rows', required('--rows (hash)', opts.rows), 1) };
    case 'qr':
      return {
        method: 'qr',
        remainder: parseIntOpt('--remainder', required('--remainder (qr)', opts.remainder), 1),
        quotient: parseIntOpt('--quotient', required('--quotient (qr)', opts.quotient), 1),
      };
    case 'dhash':
      return {
        method: 'dhash',
        rows: parseIntOpt('--rows', required('--rows (dhash)', opts.rows), 1),
        hashes: parseIntOpt('--hashes', opts.hashes, 1, 64),
      };
    case 'full':
      return fullSpecFromFile(required('--vocab-file (full)', opts.vocabFile), dense, field);
    default:
      throw new ConfigError(`--method must be one of: ${INDEX_METHODS.join(', ')}`);
  }
}

/** A FullSpec JSON file as is, or a text vocabulary (one value per line, line order = row order) hashed like the values. */
function fullSpecFromFile(path: string, dense: boolean, field: number): IndexSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IoError(`--vocab-file: cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  if (text.trimStart().startsWith('{')) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--vocab-file: ${path} starts with '{' but is not valid JSON: ${(e as Error).message}`);
    }
    return normalizeIndexSpec(raw, path);
  }
  const words = text.split(/\r?\n/);
  if (words.length > 0 && words[words.length - 1] === '') words.pop();
  const ids = new Uint32Array(2 * words.length);
  if (dense) {
    words.forEach((w, i) => {
      if (!/^\d+$/.test(w) || BigInt(w) > U64_MAX) throw new UsageError(`${path}:${i + 1}: '${w}' is not a 64-bit non-negative integer id (--dense)`);
      const id = BigInt(w);
      ids[2 * i] = Number(id & 0xffffffffn);
      ids[2 * i + 1] = Number(id >> 32n);
    });
  } else {
    new BatchHasher().hashStrings(words, field, ids);
  }
  const vocab: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const hex = ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0');
    if (!seen.has(hex)) {
      seen.add(hex);
      vocab.push(hex);
    }
  }
  return { method: 'full', minCount: 1, vocab };
}
