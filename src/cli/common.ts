// What the model commands (train, sweep, demo, eval, predict) share: the data and model flags with their
// parsing, the package version, JSON output, and the exit code for bad input data. Commands stay thin.

import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { ConfigError, DataError, IoError, isBhembedError, UsageError } from '../core/errors.js';
import type { DataFormat } from '../data/reader.js';
import { normalizeSchema } from '../data/schema.js';
import { DATA_FORMATS, formatSkips } from '../data/reader.js';
import type { Dataset as DataSet } from '../data/dataset.js';
import type { BhStrategy, IndexMethod } from '../embedding/config.js';
import { writeFileAtomic } from '../models/model-file.js';
import type { Arch } from '../models/config.js';
import { ARCHS } from '../models/config.js';
import { ARCH_PARTS } from '../models/registry.js';
import type { Fusion } from '../nn/embedding-bag.js';
import { FUSIONS } from '../nn/embedding-bag.js';
import type { SparseOptimizerKind } from '../nn/optim/config.js';
import type { DataOptions, ModelOptions, RunData } from '../experiment/pipeline.js';
import { PLAN_SAMPLE_ROWS } from '../data/plan-sample.js';
import { AUTO_MEMORY_BYTES, countedRows, DEFAULT_SHUFFLE_BUFFER, inputName } from '../experiment/pipeline.js';
import { TRAINING_DEFAULTS } from '../experiment/defaults.js';
import { readFieldOverrides } from '../experiment/field-overrides.js';
import { errorLine } from './handle-error.js';
import { parseChoice, parseFloatOpt, parseIntOpt, parseList, parseSize, required } from './options.js';

/** Formats the CLI lists (tsv and libsvm also work). */
export const CLI_FORMATS: readonly DataFormat[] = DATA_FORMATS;
export const CLI_METHODS: readonly IndexMethod[] = ['full', 'hash', 'qr', 'dhash', 'bh', 'hybrid'];
export const CLI_OPTIMIZERS: readonly SparseOptimizerKind[] = ['adam', 'adagrad', 'sgd'];

/** Exit code for bad input data (`bhembed: file:line: reason`). */
export const EXIT_DATA = 2;

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Run a command action; a data error (`file:line: reason`) prints as one line and exits 2. Everything else goes
 * to the shared handleError (which maps data errors to 1; the issue wants 2 for malformed input).
 */
export function withDataExit<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (isBhembedError(e) && e.code === 'data.parse') {
        process.stderr.write(errorLine(e.message, process.stderr));
        if (process.env.BHEMBED_DEBUG === '1' && e.stack) process.stderr.write(`${e.stack}\n`);
        process.exitCode = EXIT_DATA;
        return;
      }
      throw e;
    }
  };
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new IoError(`${path}: ${(e as Error).message}`, { file: path });
  }
}

/**
 * Fail before any work when an output file cannot be created: its folder is missing or is a file, or the path
 * is a folder. (The write itself happens at the end, after minutes of training.)
 */
export function checkOutputFile(option: string, path: string | undefined): void {
  if (path === undefined || path === '-') return;
  if (path === '') throw new UsageError(`${option}: give a file name`);
  const st = statOrNull(path);
  if (st?.isDirectory()) throw new IoError(`${option} ${path}: cannot write: it is a directory`, { file: path });
  const dir = dirname(resolve(path));
  const ds = statOrNull(dir);
  if (ds === null) throw new IoError(`${option} ${path}: cannot write: folder ${dirname(path)} does not exist`, { file: path });
  if (!ds.isDirectory()) throw new IoError(`${option} ${path}: cannot write: ${dirname(path)} is not a folder`, { file: path });
}

/** The path with symlinks resolved when it exists, else absolute: two names of one file compare equal. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Refuse an output that is one of the inputs (--out train.txt would overwrite the training data). */
/** The inputs of a data flag by name for checkNotInput (each file of a list under its own name). */
export function inputFiles(name: string, paths: string | string[] | undefined): Record<string, string | undefined> {
  if (paths === undefined || typeof paths === 'string') return { [name]: paths };
  return Object.fromEntries(paths.map((p, i) => [paths.length > 1 ? `${name} ${i + 1}` : name, p]));
}

export function checkNotInput(option: string, out: string | undefined, inputs: Record<string, string | undefined>): void {
  if (out === undefined || out === '-' || out === '') return;
  const o = canonical(out);
  for (const [name, path] of Object.entries(inputs)) {
    if (path !== undefined && path !== '-' && canonical(path) === o) throw new UsageError(`${option} ${out}: is also the ${name}; it would be overwritten`);
  }
}

/** Create an output folder (and its parents); a file in the way is an IoError naming the option. */
export function ensureOutputDir(option: string, dir: string): void {
  if (dir === '') throw new UsageError(`${option}: give a folder name`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new IoError(`${option} ${dir}: a file is in the way, expected a folder`, { file: dir });
    throw new IoError(`${option} ${dir}: cannot create the folder (${code ?? (e as Error).message})`, { file: dir });
  }
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/** `skipped N row(s) (kind), first: file:line: reason` lines for each loaded file. */
export function skipLines(sets: ({ stats: DataSet['stats'] } | undefined)[]): string[] {
  return sets.flatMap((d) => (d ? formatSkips(d.stats) : []));
}

/**
 * Early stopping ranks epochs by validation AUC, which one class alone leaves undefined (NaN): every epoch would
 * lose to the first, and its weights would be kept without a word. Refuse it when early stopping is on.
 */
export function checkValidClasses(data: RunData, patience: number, epochs: number): void {
  const v = data.valid;
  if (v === undefined || patience === 0 || epochs < 2 || v.rows === 0) return;
  const rows = countedRows(v);
  const positives = v.positives ?? 0;
  if (positives > 0 && positives < rows) return;
  const first = positives > 0 ? 1 : 0;
  const name = inputName(data.options.valid);
  throw new DataError(
    `${name}: every label is ${first}, so the validation AUC is undefined and cannot pick the best epoch; give a validation file with both classes, or --patience 0 to keep the last epoch`,
    { file: name },
  );
}

export { checkSomeRows } from '../data/reader.js';

/** The schema file, read and validated before any data: errors name the file (they named only the key). */
export function checkSchemaFile(path: string | undefined): void {
  if (path === undefined) return;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a JSON file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new IoError(`--schema ${path}: ${why}`, { file: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--schema ${path}: not valid JSON (${(e as Error).message})`, { key: 'schema' });
  }
  try {
    normalizeSchema(raw);
  } catch (e) {
    if (isBhembedError(e)) throw new ConfigError(`--schema ${path}: ${e.message}`, { ...e.details, key: 'schema' });
    throw e;
  }
}

export interface RawDataFlags {
  train?: string[];
  valid?: string[];
  test?: string[];
  shuffleBuffer?: string;
  planSample?: string;
  dataMode?: string;
  format?: string;
  schema?: string;
  onError: string;
  numeric?: string;
  splitHour?: boolean;
  maxRows?: string;
  weightColumn?: string;
}

export function addDataOptions(cmd: Command, opts: { train: boolean } = { train: true }): Command {
  if (opts.train) {
    cmd
      .option('--train <files...>', 'training data: files, globs (\'day_*.gz\') or folders of parts, read in order (gzip is detected)')
      .option('--shuffle-buffer <rows>', `streamed training: rows the shuffle draws from, held in memory (1 keeps the files' order) (default: ${DEFAULT_SHUFFLE_BUFFER})`)
      .option('--plan-sample <rows>', `streamed hashed tables with --block-bits/--memory-budget: plan on the first rows (no counting pass) (default: ${PLAN_SAMPLE_ROWS})`)
      .addOption(new Option('--data-mode <mode>', `hold the rows in memory, or stream them from the files each epoch (auto: memory up to ${AUTO_MEMORY_BYTES / 2 ** 20} MiB of input)`).choices(['auto', 'memory', 'stream']).default('auto'));
  }
  return cmd
    .option('--valid <files...>', 'validation data: early stopping and the best epoch')
    .option('--test <files...>', 'test data, scored once at the end')
    .addOption(new Option('--format <name>', 'data format').choices(CLI_FORMATS as string[]))
    .option('--schema <file>', 'csv/tsv/parquet: JSON schema {label, categorical, numeric, multi}')
    .addOption(new Option('--on-error <mode>', 'bad rows: fail at the first (exit 2) or skip and count them').choices(['fail', 'skip']).default('fail'))
    .addOption(new Option('--numeric <mode>', 'criteo: integer columns as categories or as dense log(1+v) inputs').choices(['category', 'dense']))
    .option('--split-hour', 'avazu: replace hour (YYMMDDHH) by hour_of_day and weekday fields')
    .option('--weight-column <name>', 'avazu/csv/tsv/parquet: per-row sample weights (numbers ≥ 0, not a feature): each row counts w times in the loss, its gradients and the valid/test metrics')
    .option('--max-rows <n>', 'read at most n rows of each file');
}

/** Which formats each format-specific data flag applies to (any other format would silently ignore it). */
const FORMAT_FLAGS: ReadonlyArray<{ flag: string; key: keyof RawDataFlags; formats: readonly DataFormat[] }> = [
  { flag: '--schema', key: 'schema', formats: ['csv', 'tsv', 'parquet'] },
  { flag: '--numeric', key: 'numeric', formats: ['criteo'] },
  { flag: '--split-hour', key: 'splitHour', formats: ['avazu'] },
];

export function parseDataFlags(f: RawDataFlags): DataOptions {
  const format = parseChoice('--format', required('--format', f.format), CLI_FORMATS);
  for (const { flag, key, formats } of FORMAT_FLAGS) {
    if (f[key] !== undefined && f[key] !== false && !formats.includes(format)) {
      throw new UsageError(`${flag} applies to --format ${formats.join(', ')} only, not ${format}`);
    }
  }
  checkSchemaFile(f.schema);
  return {
    format,
    train: required('--train', f.train),
    valid: f.valid,
    test: f.test,
    dataMode: f.dataMode === undefined ? undefined : parseChoice('--data-mode', f.dataMode, ['auto', 'memory', 'stream'] as const),
    shuffleBuffer: f.shuffleBuffer === undefined ? undefined : parseIntOpt('--shuffle-buffer', f.shuffleBuffer, 1),
    planSampleRows: f.planSample === undefined ? undefined : parseIntOpt('--plan-sample', f.planSample, 2),
    schema: f.schema,
    onError: f.onError === 'skip' ? 'skip' : 'fail',
    numeric: f.numeric as DataOptions['numeric'],
    splitHour: f.splitHour === true ? true : undefined,
    maxRows: f.maxRows === undefined ? undefined : parseIntOpt('--max-rows', f.maxRows, 1),
    ...(f.weightColumn !== undefined ? { weightColumn: f.weightColumn } : {}),
  };
}

export interface RawModelFlags {
  model: string;
  embedding: string;
  bhStrategy: string;
  blockBits?: string;
  codeBits?: string;
  hotShare?: string;
  compression?: string;
  memoryBudget?: string;
  dim: string;
  mlp: string;
  fusion: string;
  epochs: string;
  batchSize: string;
  lr: string;
  optimizer: string;
  threads: string;
  sparseSync?: string;
  seed: string;
  engine: string;
  gemm: string;
  patience: string;
  evalEvery?: string;
  dropout: string;
  batchNorm?: boolean;
  l2: string;
  weightDecay: string;
  initStd: string;
  embeddingLr?: string;
  minCount?: string;
  fields?: string;
}

export function addModelOptions(cmd: Command, opts: { embedding: boolean } = { embedding: true }): Command {
  cmd.addOption(new Option('--model <arch>', 'model architecture').choices(ARCHS as string[]).default(TRAINING_DEFAULTS.arch));
  if (opts.embedding) {
    cmd
      .addOption(new Option('--embedding <method>', 'embedding table method').choices(CLI_METHODS as string[]).default(TRAINING_DEFAULTS.method))
      .option('--block-bits <t>', 'bh: block length t in bits (code length S from the collision rule)')
      .option('--code-bits <S>', 'bh, hybrid: code length S in bits, 1–64, instead of the collision rule (reproduce a paper setting; the planner still picks t)')
      .option('--hot-share <x>', 'hybrid: fraction in [0, 1) of each field\'s memory for hot rows and their keys, instead of the planner\'s rule')
      .option('--compression <R>', 'target compression fullRows/rows through the planner (fields that fit stay full)')
      .option('--memory-budget <size>', 'target embedding memory, e.g. 4MB (planner, like --compression)');
  }
  return cmd
    .addOption(new Option('--bh-strategy <name>', 'bh: how code bits are grouped into blocks').choices(['succession', 'skip']).default(TRAINING_DEFAULTS.bhStrategy))
    .option('--dim <D>', 'embedding dimension', String(TRAINING_DEFAULTS.dim))
    .option('--mlp <sizes>', "hidden layer sizes of the deep tower (dnn, wdl, deepfm, dcnv2); '' = no hidden layer: the embeddings feed the output layer directly", TRAINING_DEFAULTS.mlp.join(','))
    .addOption(new Option('--fusion <name>', 'how the K rows of a value are fused; weighted learns one weight per block (and per field for K = 1)').choices(FUSIONS as string[]).default(TRAINING_DEFAULTS.fusion))
    .option('--epochs <N>', 'passes over the training data', String(TRAINING_DEFAULTS.epochs))
    .option('--batch-size <B>', 'mini-batch size (also the prediction batch)', String(TRAINING_DEFAULTS.batchSize))
    .option('--lr <x>', 'learning rate', String(TRAINING_DEFAULTS.lr))
    .addOption(new Option('--optimizer <name>', 'embedding optimizer (dense layers use Adam)').choices(CLI_OPTIMIZERS as string[]).default(TRAINING_DEFAULTS.optimizer))
    .option('--threads <N>', 'training threads (data parallel, worker_threads)', String(TRAINING_DEFAULTS.threads))
    .addOption(new Option('--sparse-sync <mode>', 'threads > 1: merged sums each embedding row\'s gradient over the shards and steps it once (the same optimizer as 1 thread); hogwild lets each thread step its own shard\'s rows').choices(['merged', 'hogwild']).default(TRAINING_DEFAULTS.sparseSync))
    .option('--seed <S>', 'seed for init, shuffling and dropout', String(TRAINING_DEFAULTS.seed))
    .option('--patience <n>', 'with --valid: stop after n epochs without a validation AUC gain and keep the best epoch\'s weights (0 = off: train every epoch, keep the last weights)', String(TRAINING_DEFAULTS.patience))
    .option('--eval-every <rows>', 'with --valid: evaluate every so many training rows (a series in the metrics JSON, a progress line each; --patience then counts evaluations)')
    .option('--dropout <p>', 'dropout rate after each hidden ReLU of the deep tower, in [0, 1)', String(TRAINING_DEFAULTS.dropout))
    .option('--batch-norm', 'batch normalization after each hidden Linear of the deep tower')
    .option('--l2 <x>', 'L2 on the embedding rows each batch touches (gradient += x·row, every step)', String(TRAINING_DEFAULTS.embeddingL2))
    .option('--weight-decay <x>', 'L2 weight decay on the dense weight matrices (not biases, BN, block weights)', String(TRAINING_DEFAULTS.weightDecay))
    .option('--init-std <x>', 'std of the normal init of embedding rows', String(TRAINING_DEFAULTS.initStd))
    .option('--embedding-lr <x>', 'learning rate of the embedding tables (default: --lr)')
    .option('--fields <file>', 'JSON of per-field overrides by field name, e.g. {"C3": {"method": "full", "minCount": 10}, "C7": {"method": "hash", "compression": 50}} (keys: method, minCount, compression, dim; "dim": the field\'s own embedding width, dnn/wdl/dcnv2)')
    .option('--min-count <n>', 'full tables (--embedding full, and fields the planner keeps full): values seen fewer than n times in the training data share the OOV row (published Criteo pipelines use 10)', String(TRAINING_DEFAULTS.minCount))
    .addOption(new Option('--engine <name>', 'compute backend').choices(['auto', 'wasm', 'reference']).default(TRAINING_DEFAULTS.engine))
    .addOption(new Option('--gemm <name>', 'dense matrix multiply provider').choices(['auto', 'ort', 'wasm', 'reference']).default(TRAINING_DEFAULTS.gemm));
}

/** For parseModelFlags: whether the user gave `--<key>` (on the command line or from the environment). */
export function givenIn(cmd: Command): (key: string) => boolean {
  return (key) => {
    const src = cmd.getOptionValueSource(key);
    return src !== undefined && src !== 'default';
  };
}

/**
 * `given(key)`: whether the user set the flag (commander's option value source is not 'default'). --mlp with a model
 * that has no deep tower, and --dim with lr (one weight per value, no vectors), would be ignored: usage errors.
 */
export function parseModelFlags(f: RawModelFlags, method?: IndexMethod, given?: (key: 'mlp' | 'dim') => boolean): ModelOptions {
  const mlp = parseList(f.mlp).map((s) => parseIntOpt('--mlp', s, 1));
  const m: ModelOptions = {
    arch: parseChoice('--model', f.model, ARCHS as readonly Arch[]),
    method: method ?? parseChoice('--embedding', f.embedding, CLI_METHODS),
    bhStrategy: parseChoice('--bh-strategy', f.bhStrategy, ['succession', 'skip'] as readonly BhStrategy[]),
    dim: parseIntOpt('--dim', f.dim, 1, 4096),
    mlp,
    fusion: parseChoice('--fusion', f.fusion, FUSIONS as readonly Fusion[]),
    epochs: parseIntOpt('--epochs', f.epochs, 1),
    batchSize: parseIntOpt('--batch-size', f.batchSize, 1),
    lr: parseFloatOpt('--lr', f.lr, 0, Infinity, true),
    optimizer: parseChoice('--optimizer', f.optimizer, CLI_OPTIMIZERS),
    threads: parseIntOpt('--threads', f.threads, 1, 64),
    sparseSync: parseChoice('--sparse-sync', f.sparseSync ?? 'merged', ['merged', 'hogwild'] as const),
    seed: parseIntOpt('--seed', f.seed, 0, 4294967295),
    engine: f.engine as ModelOptions['engine'],
    gemm: f.gemm as ModelOptions['gemm'],
    patience: parseIntOpt('--patience', f.patience, 0),
    evalEveryRows: f.evalEvery === undefined ? undefined : parseIntOpt('--eval-every', f.evalEvery, 1),
  };
  const parts = ARCH_PARTS[m.arch];
  if (given?.('mlp') === true && !(parts.deep || parts.cross)) {
    const towers = ARCHS.filter((a) => ARCH_PARTS[a].deep || ARCH_PARTS[a].cross).join(', ');
    throw new UsageError(`--mlp: --model ${m.arch} has no deep tower, so --mlp would be ignored; drop it, or pick a model with one (${towers})`);
  }
  if (given?.('dim') === true && !(parts.fm || parts.deep || parts.cross)) {
    throw new UsageError(`--dim: --model ${m.arch} learns one weight per value (no embedding vectors), so --dim would be ignored; drop it`);
  }
  const dropout = parseFloatOpt('--dropout', f.dropout, 0, 1);
  if (dropout >= 1) throw new UsageError(`--dropout: ${dropout} is out of range (must be ≥ 0 and < 1)`);
  if (dropout > 0) m.dropout = dropout;
  if (f.batchNorm === true) m.batchNorm = true;
  const l2 = parseFloatOpt('--l2', f.l2, 0);
  if (l2 > 0) m.embeddingL2 = l2;
  const wd = parseFloatOpt('--weight-decay', f.weightDecay, 0);
  if (wd > 0) m.weightDecay = wd;
  m.initStd = parseFloatOpt('--init-std', f.initStd, 0);
  if (f.minCount !== undefined) {
    const mc = parseIntOpt('--min-count', f.minCount, 1);
    if (mc > 1) m.minCount = mc;
  }
  if (f.fields !== undefined) {
    m.fields = readFieldOverrides(f.fields);
    m.fieldsSource = f.fields;
  }
  if (f.embeddingLr !== undefined) m.embeddingLr = parseFloatOpt('--embedding-lr', f.embeddingLr, 0, Infinity, true);
  if (f.blockBits !== undefined) m.blockBits = parseIntOpt('--block-bits', f.blockBits, 1, 64);
  if (f.codeBits !== undefined) m.codeBits = parseIntOpt('--code-bits', f.codeBits, 1, 64);
  if (f.hotShare !== undefined) {
    m.hotShare = parseFloatOpt('--hot-share', f.hotShare, 0, 1);
    if (m.hotShare >= 1) throw new UsageError(`--hot-share: ${m.hotShare} is out of range (must be ≥ 0 and < 1)`);
  }
  if (f.compression !== undefined) m.compression = parseFloatOpt('--compression', f.compression, 1);
  if (f.memoryBudget !== undefined) m.memoryBudget = parseSize('--memory-budget', f.memoryBudget);
  return m;
}
