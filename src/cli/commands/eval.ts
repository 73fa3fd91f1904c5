// `bhembed eval`: AUC and log loss of a saved model on a labelled data file (same batches as training, so the
// training run's test file gives the training run's test metrics exactly).

import type { Command } from 'commander';
import { Option } from 'commander';
import { formatSkips } from '../../data/reader.js';
import { Predictor } from '../../serve/predictor.js';
import { BinaryMetrics } from '../../train/metrics.js';
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
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('AUC and log loss of a model file on labelled data')
    .argument('<model>', 'model file written by `bhembed train --out`')
    .argument('<data...>', "one or more data files in the model's training format")
    .option('--metrics <file>', 'write the results as JSON')
    .option('--json', 'print JSON instead of a table')
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
    const results: { data: string; auc: number; logloss: number; rows: number; positives: number }[] = [];
    for (const file of files) {
      const reader = await predictor.open(file, flags.onError ? { onError: flags.onError as 'fail' | 'skip' } : {});
      const m = new BinaryMetrics();
      const progress = flags.quiet ? null : new Progress({ label: `eval ${file}`, unit: 'rows' });
      for await (const b of predictor.predictChunks(reader.chunks())) {
        m.add(b.probs, b.labels, b.probs.length);
        progress?.update(b.firstRow + b.probs.length);
      }
      progress?.done();
      checkSomeRows(file, reader.stats);
      const r = m.result();
      results.push({ data: file, auc: r.auc, logloss: r.logloss, rows: r.n, positives: r.positives });
      for (const l of formatSkips(reader.stats)) process.stderr.write(`bhembed: ${l}\n`); // even with --quiet
    }
    const doc = { model: modelPath, precision: predictor.precision, results };
    if (flags.metrics) writeJson(flags.metrics, doc);
    if (flags.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      // AUC needs both classes: say so instead of printing NaN
      const auc = (r: (typeof results)[number]): string => (Number.isFinite(r.auc) ? r.auc.toFixed(4) : 'n/a (one class only)');
      for (const r of results) process.stdout.write(`${r.data}: AUC ${auc(r)}  logloss ${r.logloss.toFixed(4)}  (${r.rows} rows, ${r.positives} positive)\n`);
    }
  } finally {
    await predictor.close();
  }
}
