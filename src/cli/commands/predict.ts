// `bhembed predict`: click probabilities of every row of a data file from a saved model file, as CSV or JSONL on
// stdout (or --output). Rows are scored in the training run's batches, so on the training run's test file the
// metrics printed here equal the ones `train` reported, bit for bit.

import { createWriteStream, lstatSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { Option } from 'commander';
import { IoError } from '../../core/errors.js';
import { formatSkips } from '../../data/reader.js';
import type { DataReader } from '../../data/reader.js';
import { Predictor } from '../../serve/predictor.js';
import { BinaryMetrics } from '../../train/metrics.js';
import type { InferPrecision } from '../../kernels/index.js';
import { INFER_PRECISIONS } from '../../kernels/index.js';
import { checkNotInput, checkOutputFile, checkSomeRows, withDataExit, writeJson } from '../common.js';
import { parseIntOpt } from '../options.js';
import { Progress } from '../progress.js';

interface PredictFlags {
  output?: string;
  outputFormat: string;
  metrics?: string;
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
    .addOption(new Option('--output-format <fmt>', 'csv: row,label,probability; jsonl: {"row","label","probability"}').choices(['csv', 'jsonl']).default('csv'))
    .option('--metrics <file>', 'also write {"auc","logloss","rows"} of the predictions against the labels')
    .addOption(new Option('--on-error <mode>', "bad rows: fail or skip (default: the training run's setting)").choices(['fail', 'skip']))
    .addOption(precisionOption())
    .addOption(workersOption())
    .option('-q, --quiet', 'no progress or metrics on stderr (skipped rows are still reported)')
    .addHelpText('after', '\nExample:\n  bhembed predict model.bhm test.txt --output preds.csv --metrics test-metrics.json')
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
    const reader = await predictor.open(dataPath, flags.onError ? { onError: flags.onError as 'fail' | 'skip' } : {});
    const target = flags.output === undefined ? null : outputTarget(flags.output);
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
      }
    } catch (e) {
      if (target) {
        out.destroy();
        if (target.final !== null) rmSync(target.write, { force: true });
      }
      throw e;
    }
    const r = metrics.result();
    if (flags.metrics) writeJson(flags.metrics, { auc: r.auc, logloss: r.logloss, rows: r.n, model: modelPath, data: dataPath, precision: predictor.precision });
    if (!flags.quiet) process.stderr.write(`predicted ${r.n} rows${Number.isFinite(r.auc) ? `: AUC ${r.auc.toFixed(4)}  logloss ${r.logloss.toFixed(4)}` : ''}\n`);
    // skipped rows are reported even with --quiet: dropped data is never silent
    for (const l of formatSkips(reader.stats)) process.stderr.write(`bhembed: ${l}\n`);
  } finally {
    await predictor.close();
  }
}

async function writePredictions(predictor: Predictor, reader: DataReader, out: Writable, failed: Promise<never> | null, flags: PredictFlags, metrics: BinaryMetrics): Promise<void> {
  const jsonl = flags.outputFormat === 'jsonl';
  const progress = flags.quiet ? null : new Progress({ label: 'predict', unit: 'rows' });
  if (!jsonl) out.write('row,label,probability\n');
  for await (const b of predictor.predictChunks(reader.chunks())) {
    let text = '';
    for (let i = 0; i < b.probs.length; i++) {
      const row = b.firstRow + i;
      // String() of the float32 value read as a double is exact: parsing it back gives the same float32.
      text += jsonl ? `{"row":${row},"label":${b.labels[i]},"probability":${b.probs[i]}}\n` : `${row},${b.labels[i]},${b.probs[i]}\n`;
    }
    metrics.add(b.probs, b.labels, b.probs.length);
    if (!out.write(text)) await Promise.race([once(out, 'drain'), ...(failed ? [failed] : [])]);
    progress?.update(b.firstRow + b.probs.length);
  }
  progress?.done();
}
