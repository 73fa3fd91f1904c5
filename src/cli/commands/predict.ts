// `bhembed predict`: click probabilities of every row of a data file from a saved model file, as CSV or JSONL on
// stdout (or --output). Rows are scored in the training run's batches, so on the training run's test file the
// metrics printed here equal the ones `train` reported, bit for bit.

import { createWriteStream, lstatSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { Option } from 'commander';
import { recordWritten, trackPartial, untrackPartial } from '../../core/cleanup.js';
import { IoError, UsageError } from '../../core/errors.js';
import { formatSkips } from '../../data/reader.js';
import type { DataReader, ReaderOptions } from '../../data/reader.js';
import type { DataChunk } from '../../data/chunk.js';
import { Predictor } from '../../serve/predictor.js';
import { BinaryMetrics } from '../../train/metrics.js';
import type { InferPrecision } from '../../kernels/index.js';
import { INFER_PRECISIONS } from '../../kernels/index.js';
import { checkNotInput, checkOutputFile, checkSomeRows, withDataExit, writeJson } from '../common.js';
import { parseIntOpt } from '../options.js';
import { Progress } from '../progress.js';

interface PredictFlags {
  output?: string;
  outputFormat?: string;
  /** false with --no-label. */
  label: boolean;
  idColumn?: string;
  metrics?: string;
  weightColumn?: string;
  onError?: string;
  quiet?: boolean;
  precision: string;
  workers: number;
}

/** `--precision fp32|int8`, shared by predict and eval. */
export function precisionOption(): Option {
  return new Option(
    '--precision <p>',
    "deep tower arithmetic: fp32 reproduces the training run's scores exactly; int8 (needs onnxruntime) runs the hidden layers as int8 GEMMs, ~3x faster tower at large batches for slightly different scores (AUC typically within 0.001) that depend a little on the other rows of a batch; int8-static uses fixed activation scales recorded by `train --out`, so a row gets the same score in any batch, and is ~20% faster than int8",
  )
    .choices([...INFER_PRECISIONS])
    .default('fp32');
}

/** `--workers N`, shared by predict and eval. */
export function workersOption(): Option {
  return new Option('--workers <n>', 'score batches on N threads, each with its own copy of the model (N x its memory); same batches, higher throughput on N cores')
    .argParser((v: string) => parseIntOpt('--workers', v, 1, 64))
    .default(1);
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('write the click probability of every row of <data> using a model file (CSV or JSONL)')
    .argument('<model>', 'model file written by `bhembed train --out`')
    .argument('<data>', "data in the model's training format ('-' for stdin)")
    .option('-o, --output <file>', 'write predictions here instead of stdout')
    .addOption(new Option('--output-format <fmt>', 'csv: row,label,probability; jsonl: {"row","label","probability"} (default: from the --output name, .jsonl/.ndjson → jsonl, else csv)').choices(['csv', 'jsonl']))
    .option('--no-label', 'the rows have no label column/token (live traffic, competition test files); without this flag a missing label is detected and stated')
    .option('--id-column <name>', 'avazu/csv/tsv/parquet: copy this column into the output as "id" (e.g. Avazu\'s id), to join predictions back to the input')
    .option('--metrics <file>', 'also write {"auc","logloss","rows"} of the predictions against the labels, weighted as train and eval weigh them when the file has the training run\'s --weight-column')
    .option('--weight-column <name>', 'with --metrics: weigh the metrics by this column instead of the training run\'s')
    .addOption(new Option('--on-error <mode>', "bad rows: fail or skip (default: the training run's setting)").choices(['fail', 'skip']))
    .addOption(precisionOption())
    .addOption(workersOption())
    .option('-q, --quiet', 'no progress or metrics on stderr (skipped rows are still reported)')
    .addHelpText(
      'after',
      '\nColumns: row (the 0-based data row of the input; rows skipped as bad keep their numbers), id (--id-column),\nlabel (labelled input only), probability. A probability does not depend on a sample weight: a training run’s\n--weight-column is read only for --metrics (weighted AUC and log loss, as train and eval report them).\n\nExample:\n  bhembed predict model.bhm test.txt --output preds.csv --metrics test-metrics.json\n  bhembed predict model.bhm avazu-test.csv --id-column id -o submission.csv',
    )
    .action(withDataExit(async (model: string, data: string, flags: PredictFlags) => runPredict(model, data, flags)));
}

/**
 * Where --output is written: a hidden temporary file next to it, renamed over it at the end, so a run that fails
 * halfway (a bad row, a full disk) leaves no partial predictions behind. Only a new path or a plain file is
 * replaced that way; a symlink (/dev/stdout), device, pipe or hard-linked file is written in place.
 */
function outputTarget(path: string): { write: string; final: string | null } {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = null;
  }
  if (st !== null && (!st.isFile() || st.nlink > 1)) return { write: path, final: null };
  return { write: join(dirname(path), `.${basename(path)}.${process.pid}.tmp`), final: path };
}

async function runPredict(modelPath: string, dataPath: string, flags: PredictFlags): Promise<void> {
  checkOutputFile('--output', flags.output);
  checkOutputFile('--metrics', flags.metrics);
  checkNotInput('--output', flags.output, { 'model file': modelPath, 'data file': dataPath });
  checkNotInput('--metrics', flags.metrics, { 'model file': modelPath, 'data file': dataPath, '--output file': flags.output });
  const predictor = await Predictor.load(modelPath, { precision: flags.precision as InferPrecision, workers: flags.workers });
  try {
    const extra: ReaderOptions = { labels: flags.label === false ? 'none' : 'detect' };
    if (flags.onError) extra.onError = flags.onError as 'fail' | 'skip';
    if (flags.idColumn !== undefined) extra.idColumn = flags.idColumn;
    if (flags.weightColumn !== undefined && flags.metrics === undefined) throw new UsageError('--weight-column: weighs the --metrics; a probability does not depend on a weight (give --metrics FILE, or drop the flag)');
    // --metrics weigh rows by the training run's weight column (or --weight-column) when the file has it, as eval does.
    if (flags.metrics !== undefined) {
      extra.weights = 'detect';
      if (flags.weightColumn !== undefined) extra.weightColumn = flags.weightColumn;
    }
    const reader = await predictor.open(dataPath, extra);
    if (!reader.hasLabels) {
      if (flags.metrics !== undefined) throw new UsageError(`--metrics: ${dataPath} has no labels to score the predictions against; drop --metrics`);
      if (flags.label !== false && !flags.quiet) process.stderr.write(`bhembed: ${dataPath}: no label column found: writing probabilities only (--no-label says so and silences this)\n`);
    }
    const target = flags.output === undefined ? null : outputTarget(flags.output);
    if (target !== null) trackPartial(target.write, target.final === null ? target.write : `${target.final} (temporary ${target.write})`);
    const out: Writable = target ? createWriteStream(target.write) : process.stdout;
    const failed = target ? once(out, 'error').then(([e]) => Promise.reject(new IoError(`${flags.output}: cannot write (${(e as Error).message})`))) : null;
    failed?.catch(() => undefined);
    const metrics = new BinaryMetrics();
    try {
      await writePredictions(predictor, reader, out, failed, flags, metrics);
      checkSomeRows(dataPath, reader.stats);
      if (target) {
        out.end();
        await Promise.race([once(out, 'close'), failed]);
        if (target.final !== null) renameSync(target.write, target.final);
        untrackPartial(target.write);
        recordWritten(target.final ?? target.write);
      }
    } catch (e) {
      if (target) {
        out.destroy();
        if (target.final !== null) rmSync(target.write, { force: true });
        untrackPartial(target.write);
      }
      throw e;
    }
    const r = metrics.result();
    if (!reader.hasLabels) r.n = reader.stats.rows;
    const wc = reader.weightColumn;
    if (flags.metrics) writeJson(flags.metrics, { auc: r.auc, logloss: r.logloss, rows: r.n, ...(wc !== undefined ? { weightColumn: wc, weight: r.weight } : {}), model: modelPath, data: dataPath, precision: predictor.precision });
    // Say how the metrics were weighed: by the column, or not although the model was trained weighted.
    const trainedWeighted = predictor.readerOptions().weightColumn;
    const how = wc !== undefined ? `  (weighted by ${wc}, total weight ${Number.isInteger(r.weight) ? r.weight : r.weight.toFixed(2)})` : trainedWeighted !== undefined && flags.metrics === undefined ? `  (unweighted; --metrics FILE or bhembed eval weigh them by ${trainedWeighted})` : '';
    if (!flags.quiet) process.stderr.write(`predicted ${r.n} rows${Number.isFinite(r.auc) ? `: AUC ${r.auc.toFixed(4)}  logloss ${r.logloss.toFixed(4)}${how}` : ''}\n`);
    // skipped rows are reported even with --quiet: dropped data is never silent
    for (const l of formatSkips(reader.stats)) process.stderr.write(`bhembed: ${l}\n`);
  } finally {
    await predictor.close();
  }
}

/** --output-format, else from the --output name: .jsonl / .ndjson write JSON lines, anything else CSV. */
export function outputFormatOf(flags: Pick<PredictFlags, 'output' | 'outputFormat'>): 'csv' | 'jsonl' {
  if (flags.outputFormat !== undefined) return flags.outputFormat === 'jsonl' ? 'jsonl' : 'csv';
  return flags.output !== undefined && /\.(jsonl|ndjson)$/i.test(flags.output) ? 'jsonl' : 'csv';
}

/** A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Each read row's input position and id text, in order: the chunks pass through here on their way to the predictor,
 * which returns batches in input order, so row i of the output is the i-th row queued.
 */
class RowMeta {
  private readonly queue: Pick<DataChunk, 'rows' | 'positions' | 'keys' | 'sampleWeights'>[] = [];
  private at = 0;

  async *tap(chunks: AsyncIterable<DataChunk>): AsyncGenerator<DataChunk> {
    for await (const c of chunks) {
      if (c.rows > 0) this.queue.push({ rows: c.rows, positions: c.positions, keys: c.keys, sampleWeights: c.sampleWeights }); // not the chunk: its columns can go
      yield c;
    }
  }

  shift(): { position?: number; key?: string; weight?: number } {
    const c = this.queue[0];
    if (c === undefined) return {};
    const i = this.at++;
    if (this.at >= c.rows) {
      this.queue.shift();
      this.at = 0;
    }
    return { position: c.positions?.[i], key: c.keys?.[i], weight: c.sampleWeights?.[i] };
  }
}

async function writePredictions(predictor: Predictor, reader: DataReader, out: Writable, failed: Promise<never> | null, flags: PredictFlags, metrics: BinaryMetrics): Promise<void> {
  const jsonl = outputFormatOf(flags) === 'jsonl';
  const withLabel = reader.hasLabels;
  const withId = reader.idColumn !== undefined;
  const weighted = withLabel && reader.weightColumn !== undefined;
  const progress = flags.quiet ? null : new Progress({ label: 'predict', unit: 'rows' });
  // The header goes out with the first rows, so a file that fails at its first row prints only the error.
  let header = jsonl ? '' : `row,${withId ? 'id,' : ''}${withLabel ? 'label,' : ''}probability\n`;
  const meta = new RowMeta();
  for await (const b of predictor.predictChunks(meta.tap(reader.chunks()))) {
    let text = header;
    header = '';
    const w = weighted ? new Float32Array(b.probs.length) : null;
    for (let i = 0; i < b.probs.length; i++) {
      // The row's place in the input, so output lines stay joined to input lines after skipped rows.
      const { position, key, weight } = meta.shift();
      if (w !== null) w[i] = weight ?? 1;
      const row = position ?? b.firstRow + i;
      const id = withId ? (key ?? '') : '';
      // String() of the float32 value read as a double is exact: parsing it back gives the same float32.
      if (jsonl) text += `{"row":${row}${withId ? `,"id":${JSON.stringify(id)}` : ''}${withLabel ? `,"label":${b.labels[i]}` : ''},"probability":${b.probs[i]}}\n`;
      else text += `${row},${withId ? `${csvCell(id)},` : ''}${withLabel ? `${b.labels[i]},` : ''}${b.probs[i]}\n`;
    }
    if (withLabel) metrics.add(b.probs, b.labels, b.probs.length, w);
    if (!out.write(text)) await Promise.race([once(out, 'drain'), ...(failed ? [failed] : [])]);
    progress?.update(b.firstRow + b.probs.length);
  }
  progress?.done();
}
