// `bhembed eval`: AUC and log loss of a saved model on a labelled data file (same batches as training, so the
// training run's test file gives the training run's test metrics exactly).

import type { Command } from 'commander';
import { Option } from 'commander';
import { formatSkips } from '../../data/reader.js';
import { Predictor } from '../../serve/predictor.js';
import { BinaryMetrics, GroupAuc } from '../../train/metrics.js';
import type { DataChunk } from '../../data/chunk.js';
import { formatGauc, type GroupAucReport } from '../../experiment/report.js';
import { UsageError } from '../../core/errors.js';
import type { InferPrecision } from '../../kernels/index.js';
import { checkNotInput, checkOutputFile, checkSomeRows, withDataExit, writeJson } from '../common.js';
import { precisionOption, workersOption } from './predict.js';
import { Progress } from '../progress.js';

interface EvalFlags {
  metrics?: string;
  json?: boolean;
  onError?: string;
  quiet?: boolean;
  precision: string;
  workers: number;
  groupBy?: string;
  weightColumn?: string;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('AUC and log loss of a model file on labelled data')
    .argument('<model>', 'model file written by `bhembed train --out`')
    .argument('<data...>', "one or more data files in the model's training format")
    .option('--metrics <file>', 'write the results as JSON')
    .option('--json', 'print JSON instead of a table')
    .option('--group-by <field>', 'also report group AUC: per-group AUC over the rows sharing this field\'s value (a user id), weighted by group size; one-class groups left out and counted')
    .option('--weight-column <name>', "avazu/csv/tsv/parquet: weigh each row by this column (AUC over pairs weighted w_i·w_j, logloss a weighted mean); default: the training run's --weight-column when the file has it")
    .addOption(new Option('--on-error <mode>', "bad rows: fail or skip (default: the training run's setting)").choices(['fail', 'skip']))
    .addOption(precisionOption())
    .addOption(workersOption())
    .option('-q, --quiet', 'no progress on stderr (skipped rows are still reported)')
    .addHelpText('after', '\nExample:\n  bhembed eval model.bhm valid.txt test.txt\n  bhembed eval model.bhm test.txt --precision int8')
    .action(withDataExit(async (model: string, data: string[], flags: EvalFlags) => runEval(model, data, flags)));
}

async function runEval(modelPath: string, files: string[], flags: EvalFlags): Promise<void> {
  checkOutputFile('--metrics', flags.metrics);
  checkNotInput('--metrics', flags.metrics, { 'model file': modelPath, ...Object.fromEntries(files.map((f, i) => [`data file ${i + 1}`, f])) });
  const predictor = await Predictor.load(modelPath, { precision: flags.precision as InferPrecision, workers: flags.workers });
  try {
    const results: { data: string; auc: number; logloss: number; rows: number; positives: number; weightColumn?: string; weight?: number; gauc?: GroupAucReport }[] = [];
    const groupField = groupFieldOfModel(predictor, flags.groupBy);
    for (const file of files) {
      // Weighted metrics when the file has the weight column (the training run's, or --weight-column).
      const reader = await predictor.open(file, { weights: 'detect', ...(flags.weightColumn !== undefined ? { weightColumn: flags.weightColumn } : {}), ...(flags.onError ? { onError: flags.onError as 'fail' | 'skip' } : {}) });
      const weights = reader.weightColumn === undefined ? null : new GrowingWeights();
      const m = new BinaryMetrics();
      const g = groupField === undefined ? null : new GroupAuc();
      const progress = flags.quiet ? null : new Progress({ label: `eval ${file}`, unit: 'rows' });
      // The group field's ids of every row, in input order, taken from the chunks on their way to the predictor.
      const ids = g === null ? null : new GrowingIds();
      async function* tap(chunks: AsyncIterable<DataChunk>): AsyncGenerator<DataChunk> {
        for await (const c of chunks) {
          if (weights !== null) weights.push(c.sampleWeights as Float32Array, c.rows);
          if (ids !== null) {
            const col = c.fields[groupField as number];
            if ((col.offsets ?? null) !== null) throw new UsageError(`--group-by ${String(flags.groupBy)}: ${file} has several values per row in this field; a group needs one value per row`);
            ids.push(col.ids, c.rows);
          }
          yield c;
        }
      }
      for await (const b of predictor.predictChunks(ids === null && weights === null ? reader.chunks() : tap(reader.chunks()))) {
        const w = weights === null ? null : weights.rows(b.firstRow, b.probs.length);
        m.add(b.probs, b.labels, b.probs.length, w);
        g?.add(b.probs, b.labels, (ids as GrowingIds).rows(b.firstRow, b.probs.length), b.probs.length, w);
        progress?.update(b.firstRow + b.probs.length);
      }
      progress?.done();
      checkSomeRows(file, reader.stats);
      const r = m.result();
      results.push({ data: file, auc: r.auc, logloss: r.logloss, rows: r.n, positives: r.positives, ...(reader.weightColumn !== undefined ? { weightColumn: reader.weightColumn, weight: r.weight } : {}), ...(g !== null ? { gauc: { field: flags.groupBy as string, ...g.result() } } : {}) });
      for (const l of formatSkips(reader.stats)) process.stderr.write(`bhembed: ${l}\n`); // even with --quiet
    }
    const doc = { model: modelPath, precision: predictor.precision, results };
    if (flags.metrics) writeJson(flags.metrics, doc);
    if (flags.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      // AUC needs both classes: say so instead of printing NaN
      const auc = (r: (typeof results)[number]): string => (Number.isFinite(r.auc) ? r.auc.toFixed(4) : 'n/a (one class only)');
      for (const r of results) process.stdout.write(`${r.data}: AUC ${auc(r)}  logloss ${r.logloss.toFixed(4)}  (${r.rows} rows, ${r.positives} positive${r.weightColumn !== undefined ? `; weighted by ${r.weightColumn}, total weight ${fmtWeight(r.weight as number)}` : ''})${r.gauc ? `  ${formatGauc(r.gauc)}` : ''}\n`);
    }
  } finally {
    await predictor.close();
  }
}

/** The model's field index of --group-by, checked: the model has it, with one value per row. */
function groupFieldOfModel(predictor: Predictor, groupBy: string | undefined): number | undefined {
  if (groupBy === undefined) return undefined;
  const names = predictor.config.fields.map((f) => f.name);
  const f = names.indexOf(groupBy);
  if (f < 0) throw new UsageError(`--group-by ${groupBy}: the model has no field '${groupBy}' (its fields: ${names.join(', ')})`);
  return f;
}

function fmtWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : w.toFixed(2);
}

/** Sample weights of the rows, appended chunk by chunk and read back by row range (as GrowingIds). */
class GrowingWeights {
  private w = new Float32Array(2048);
  private n = 0;

  push(src: Float32Array, rows: number): void {
    if (this.n + rows > this.w.length) {
      const b = new Float32Array(Math.max(2 * this.w.length, this.n + rows));
      b.set(this.w.subarray(0, this.n));
      this.w = b;
    }
    this.w.set(src.subarray(0, rows), this.n);
    this.n += rows;
  }

  rows(first: number, count: number): Float32Array {
    return this.w.subarray(first, first + count);
  }
}

/** Hash ids (2 u32 words) of one value per row, appended chunk by chunk and read back by row range. */
class GrowingIds {
  private ids = new Uint32Array(2048);
  private n = 0;

  push(src: ArrayLike<number>, rows: number): void {
    if (2 * (this.n + rows) > this.ids.length) {
      const b = new Uint32Array(Math.max(2 * this.ids.length, 2 * (this.n + rows)));
      b.set(this.ids.subarray(0, 2 * this.n));
      this.ids = b;
    }
    for (let i = 0; i < 2 * rows; i++) this.ids[2 * this.n + i] = src[i];
    this.n += rows;
  }

  rows(first: number, count: number): Uint32Array {
    return this.ids.subarray(2 * first, 2 * (first + count));
  }
}
