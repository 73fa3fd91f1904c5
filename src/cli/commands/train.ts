// `bhembed train`: one model from data files to a model file and a metrics JSON. Progress on stderr, the result
// summary on stdout. The work itself is experiment/pipeline.ts; this file only maps flags and prints.

import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError, isBhembedError, UsageError } from '../../core/errors.js';
import { parseChoice, parseIntOpt } from '../options.js';
import { checkFreshCheckpointDir, resumeCommandLine, storeCommandLine } from '../resume.js';
import type { CheckpointContents } from '../../train/resume/checkpoint-file.js';
import { readInitSource } from '../../train/resume/init-from.js';
import { addDataOptions, addModelOptions, ensureOutputDir, givenIn, checkNotInput, inputFiles, checkOutputFile, checkValidClasses, packageVersion, parseDataFlags, parseModelFlags, skipLines, withDataExit, writeJson } from '../common.js';
import type { RawDataFlags, RawModelFlags } from '../common.js';
import { formatBytes, pipelineReporter } from '../progress.js';
import { checkModelOptions, loadRunData, needsFullVocab, needsHotCounts, planCountsFor, releaseHead, trainModel } from '../../experiment/pipeline.js';
import { formatRunMetrics } from '../../experiment/report.js';
import { addClusterTrainOptions, runClusterTrain, type ClusterFlags } from './cluster.js';

interface TrainFlags extends RawDataFlags, RawModelFlags, ClusterFlags {
  out?: string;
  metrics?: string;
  dtype: string;
  quiet?: boolean;
  groupBy?: string;
  checkpointDir?: string;
  checkpointEvery?: string;
  resume?: string;
  initFrom?: string;
  publishDir?: string;
  publishEvery?: string;
}

/** Checkpoint interval when --checkpoint-dir is given alone (training rows). */
const DEFAULT_CHECKPOINT_EVERY = 1_000_000;

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
    .option('-q, --quiet', 'no progress output')
    .option('--checkpoint-dir <dir>', 'write checkpoints here (weights, optimizer and data position; the last 2 kept, and a final one) to --resume after a crash')
    .option('--checkpoint-every <rows>', `with --checkpoint-dir: training rows between checkpoints (default: ${DEFAULT_CHECKPOINT_EVERY})`)
    .option('--resume <dir>', 'go on from the newest checkpoint in dir with the options it was started with (same data); the result equals an uninterrupted run')
    .option('--init-from <path>', 'start from a model file (weights; fresh optimizer) or a checkpoint folder/file (weights and optimizer state) and train on this data; its tables and model settings are kept')
    .option('--publish-dir <dir>', 'write numbered model files dir/1.bhm, dir/2.bhm, … while training (atomically; the layout bhembed serve --model-dir watches)')
    .option('--publish-every <rows>', 'with --publish-dir: training rows between published versions');
  addClusterTrainOptions(cmd)
    .action(withDataExit(async (flags: TrainFlags, c: Command) => {
      try {
        await startTrain(flags, givenIn(c));
      } catch (e) {
        // A checkpoint that cannot be used is bad input to this command (exit 2), like a bad option.
        if (isBhembedError(e) && e.code.startsWith('checkpoint.')) throw new ConfigError(e.message, e.details);
        throw e;
      }
    }));
}

/** --resume: the stored flags (after the checks) replace this command line's. */
async function startTrain(flags: TrainFlags, given: (key: string) => boolean): Promise<void> {
  if (flags.resume === undefined) return runTrain(flags, given);
  const r = resumeCommandLine(flags.resume, flags as unknown as Record<string, unknown>, given);
  return runTrain(r.flags as unknown as TrainFlags, r.given, r.ck);
}

async function runTrain(flags: TrainFlags, given: (key: string) => boolean, resume?: CheckpointContents): Promise<void> {
  if ((flags.cluster !== undefined || flags.job !== undefined) && flags.groupBy !== undefined) {
    throw new UsageError(`--group-by: --cluster training does not compute group AUC; score its model with bhembed eval MODEL DATA --group-by ${flags.groupBy}`);
  }
  const dataOpts = parseDataFlags(flags);
  if ((flags.cluster !== undefined || flags.job !== undefined) && dataOpts.weightColumn !== undefined) {
    throw new UsageError('--weight-column: --cluster training does not weigh rows yet; train on this machine, or repeat each row by its weight');
  }
  const modelOpts = parseModelFlags(flags, undefined, given);
  if (flags.groupBy !== undefined) modelOpts.groupBy = flags.groupBy;
  const dtype = parseChoice('--dtype', flags.dtype, ['float32', 'float16'] as const);
  // --init-from keeps the stored model's tables: no memory target is needed (one given is compared, not planned).
  if (flags.initFrom === undefined) checkModelOptions(modelOpts);
  checkOutputFile('--out', flags.out);
  checkOutputFile('--metrics', flags.metrics);
  const inputs = { ...inputFiles('--train file', dataOpts.train), ...inputFiles('--valid file', dataOpts.valid), ...inputFiles('--test file', dataOpts.test), '--schema file': dataOpts.schema };
  checkNotInput('--out', flags.out, inputs);
  checkNotInput('--metrics', flags.metrics, { ...inputs, '--out file': flags.out });
  for (const k of ['checkpointDir', 'resume', 'initFrom', 'publishDir'] as const) {
    if (flags[k] !== undefined && (flags.cluster !== undefined || flags.job !== undefined)) throw new UsageError(`${k === 'initFrom' ? '--init-from' : `--${k.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`} applies to training on this machine, not --cluster`);
  }
  if (flags.cluster !== undefined || flags.job !== undefined) return runClusterTrain(flags, dataOpts, modelOpts, given);
  for (const k of ['syncEvery', 'shardRows', 'ackWait', 'merge'] as const) {
    if (given(k)) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --cluster training only`);
  }
  if (flags.checkpointEvery !== undefined && flags.checkpointDir === undefined) throw new UsageError('--checkpoint-every needs --checkpoint-dir DIR');
  if ((flags.publishDir === undefined) !== (flags.publishEvery === undefined)) throw new UsageError('--publish-dir and --publish-every go together');
  const checkpointEvery = flags.checkpointEvery === undefined ? DEFAULT_CHECKPOINT_EVERY : parseIntOpt('--checkpoint-every', flags.checkpointEvery, 1);
  const publishEvery = flags.publishEvery === undefined ? 0 : parseIntOpt('--publish-every', flags.publishEvery, 1);
  if (flags.checkpointDir !== undefined) {
    ensureOutputDir('--checkpoint-dir', flags.checkpointDir);
    if (resume === undefined) checkFreshCheckpointDir(flags.checkpointDir);
  }
  if (flags.publishDir !== undefined) ensureOutputDir('--publish-dir', flags.publishDir);
  const initFrom = flags.initFrom !== undefined ? readInitSource(flags.initFrom) : undefined;
  if (initFrom !== undefined) {
    // Model settings not given take the stored model's, so `--init-from` needs only the data and training flags.
    const c = initFrom.config;
    if (!given('model')) modelOpts.arch = c.arch;
    if (!given('dim')) modelOpts.dim = c.dim;
    if (!given('mlp')) modelOpts.mlp = [...c.mlp];
    if (!given('fusion')) modelOpts.fusion = c.fields[0].fusion;
    if (!given('embedding') && initFrom.method !== undefined) modelOpts.method = initFrom.method as typeof modelOpts.method;
    if (!given('dropout')) modelOpts.dropout = c.dropout > 0 ? c.dropout : undefined;
    if (!given('batchNorm')) modelOpts.batchNorm = c.batchNorm ? true : undefined;
    if (!given('optimizer') && initFrom.optimizer !== null && initFrom.optimizer.kind !== 'unknown') modelOpts.optimizer = initFrom.optimizer.kind as typeof modelOpts.optimizer;
  }
  const rep = pipelineReporter({ quiet: flags.quiet });
  // Streamed hashed tables with --block-bits/--memory-budget plan on the first rows: no counting pass (planCountsFor).
  const planCounts = initFrom !== undefined ? 'stream-sample' : planCountsFor(modelOpts);
  const data = await loadRunData({ ...dataOpts, fullVocab: needsFullVocab(modelOpts), hotCounts: needsHotCounts(modelOpts), planCounts }, rep.onProgress);
  try {
    checkValidClasses(data, modelOpts.patience ?? 0, modelOpts.epochs);
  } catch (e) {
    await releaseHead(data.train); // the plan sample's read (a worker thread) would keep the process alive
    throw e;
  }
  const checkpoint =
    flags.checkpointDir === undefined
      ? undefined
      : {
          dir: flags.checkpointDir,
          everyRows: checkpointEvery,
          runId: resume?.header.runId ?? `${Date.now().toString(36)}-${process.pid}`,
          run: resume?.header.run ?? { cli: storeCommandLine(flags as unknown as Record<string, unknown>, given, dataOpts.train), modelOptions: modelOpts },
        };
  const outcome = await trainModel(data, modelOpts, {
    out: flags.out,
    dtype,
    onProgress: rep.onProgress,
    version: packageVersion(),
    checkpoint,
    resume,
    initFrom,
    publish: flags.publishDir !== undefined ? { dir: flags.publishDir, everyRows: publishEvery } : undefined,
  });
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
