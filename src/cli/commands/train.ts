// `bhembed train`: one model from data files to a model file and a metrics JSON. Progress on stderr, the result
// summary on stdout. The work itself is experiment/pipeline.ts; this file only maps flags and prints.

import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../../core/errors.js';
import { parseChoice } from '../options.js';
import { addDataOptions, addModelOptions, givenIn, checkNotInput, inputFiles, checkOutputFile, checkValidClasses, packageVersion, parseDataFlags, parseModelFlags, skipLines, withDataExit, writeJson } from '../common.js';
import type { RawDataFlags, RawModelFlags } from '../common.js';
import { formatBytes, pipelineReporter } from '../progress.js';
import { checkModelOptions, loadRunData, needsFullVocab, needsHotCounts, trainModel } from '../../experiment/pipeline.js';
import { formatRunMetrics } from '../../experiment/report.js';
import { addClusterTrainOptions, runClusterTrain, type ClusterFlags } from './cluster.js';

interface TrainFlags extends RawDataFlags, RawModelFlags, ClusterFlags {
  out?: string;
  metrics?: string;
  dtype: string;
  quiet?: boolean;
  groupBy?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a CTR model with compressed embeddings; writes a model file (--out) and metrics JSON (--metrics)')
    .addHelpText(
      'after',
      `
Examples:
  bhembed train --train train.txt --valid dev.txt --test test.txt --format criteo \\
    --model deepfm --embedding bh --compression 100 --dim 16 --epochs 2 --out model.bhm --metrics run.json
  bhembed train --train tr.libfm --test te.libfm --format libfm --embedding hash --memory-budget 4MB --out m.bhm`,
    );
  addDataOptions(cmd);
  addModelOptions(cmd);
  cmd
    .option('--out <file>', 'model file to write (atomically)')
    .option('--metrics <file>', 'metrics JSON to write')
    .option('--group-by <field>', 'also report group AUC on valid/test: per-group AUC over the rows sharing this field\'s value (a user id), weighted by group size; one-class groups left out and counted')
    .addOption(new Option('--dtype <type>', 'weight precision in the model file').choices(['float32', 'float16']).default('float32'))
    .option('-q, --quiet', 'no progress output');
  addClusterTrainOptions(cmd)
    .action(withDataExit(async (flags: TrainFlags, c: Command) => runTrain(flags, givenIn(c))));
}

async function runTrain(flags: TrainFlags, given: (key: string) => boolean): Promise<void> {
  if ((flags.cluster !== undefined || flags.job !== undefined) && flags.groupBy !== undefined) {
    throw new UsageError(`--group-by: --cluster training does not compute group AUC; score its model with bhembed eval MODEL DATA --group-by ${flags.groupBy}`);
  }
  const dataOpts = parseDataFlags(flags);
  const modelOpts = parseModelFlags(flags, undefined, given);
  if (flags.groupBy !== undefined) modelOpts.groupBy = flags.groupBy;
  const dtype = parseChoice('--dtype', flags.dtype, ['float32', 'float16'] as const);
  checkModelOptions(modelOpts);
  checkOutputFile('--out', flags.out);
  checkOutputFile('--metrics', flags.metrics);
  const inputs = { ...inputFiles('--train file', dataOpts.train), ...inputFiles('--valid file', dataOpts.valid), ...inputFiles('--test file', dataOpts.test), '--schema file': dataOpts.schema };
  checkNotInput('--out', flags.out, inputs);
  checkNotInput('--metrics', flags.metrics, { ...inputs, '--out file': flags.out });
  if (flags.cluster !== undefined || flags.job !== undefined) return runClusterTrain(flags, dataOpts, modelOpts, given);
  for (const k of ['syncEvery', 'shardRows', 'ackWait', 'merge'] as const) {
    if (given(k)) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --cluster training only`);
  }
  const rep = pipelineReporter({ quiet: flags.quiet });
  const data = await loadRunData({ ...dataOpts, fullVocab: needsFullVocab(modelOpts), hotCounts: needsHotCounts(modelOpts) }, rep.onProgress);
  checkValidClasses(data, modelOpts.patience ?? 0, modelOpts.epochs);
  const outcome = await trainModel(data, modelOpts, { out: flags.out, dtype, onProgress: rep.onProgress, version: packageVersion() });
  rep.done();
  const m = outcome.metrics;
  if (flags.metrics !== undefined) writeJson(flags.metrics, m);
  const lines = formatRunMetrics(m);
  if (outcome.plan) {
    const kept = outcome.plan.fields.filter((f) => f.method === 'full').length;
    if (kept > 0) lines.push(`planner kept ${kept} of ${outcome.plan.fields.length} fields full (their full table fits the budget)`);
  }
  if (flags.out !== undefined && outcome.modelFileBytes !== undefined) lines.push(`model file ${flags.out} (${formatBytes(outcome.modelFileBytes)})`);
  else lines.push('model not saved: give --out FILE to keep it for eval, predict and inspect');
  if (flags.metrics !== undefined) lines.push(`metrics ${flags.metrics}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const l of skipLines([data.train, data.valid, data.test])) process.stderr.write(`bhembed: ${l}\n`);
}
