// `bhembed sweep`: methods × compression ratios × seeds on one dataset, loaded once. Each finished cell is saved
// to results.json at once (keyed by cell), so a rerun resumes without redoing finished cells. Writes
// results.json, results.csv, results.md and auc-vs-compression.svg into --out-dir. `demo` reuses runGrid.

import { existsSync, mkdirSync } from 'node:fs';
import { noteKept } from '../../core/cleanup.js';
import { fileIdentity } from '../../data/identity.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isBhembedError, UsageError } from '../../core/errors.js';
import type { IndexMethod } from '../../embedding/config.js';
import { writeFileAtomic } from '../../models/model-file.js';
import type { DataOptions, ModelOptions, RunData } from '../../experiment/pipeline.js';
import { groupFieldOf, loadRunData, needsHotCounts, trainModel } from '../../experiment/pipeline.js';
import type { SweepCell, SweepSummaryRow } from '../../experiment/sweep.js';
import { loadSweepResults, runSweep, staleReason, summarizeSweep, sweepCells, sweepCsv, sweepInfeasibleNotes, sweepMarkdown, sweepSvg } from '../../experiment/sweep.js';
import { CLI_METHODS, addDataOptions, addModelOptions, givenIn, checkValidClasses, ensureOutputDir, packageVersion, parseDataFlags, parseModelFlags, skipLines, withDataExit } from '../common.js';
import type { RawDataFlags, RawModelFlags } from '../common.js';
import { noDuplicates, parseChoice, parseFloatOpt, parseIntOpt, parseList } from '../options.js';
import { pipelineReporter } from '../progress.js';

interface SweepFlags extends RawDataFlags, Omit<RawModelFlags, 'embedding'> {
  methods: string;
  compressions: string;
  seeds: string;
  outDir: string;
  quiet?: boolean;
  keepModels?: boolean;
  groupBy?: string;
}

/**
 * Sweep method names: the embedding methods, plus `bh-succession` and `bh-skip`, which pin the BH code-block
 * strategy (plain `bh` follows --bh-strategy), so one sweep can compare both.
 */
export const SWEEP_METHODS = [...CLI_METHODS, 'bh-succession', 'bh-skip'] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];

/** The method and BH strategy a sweep method name stands for. */
export function sweepMethodOptions(name: string): { method: IndexMethod; bhStrategy?: 'succession' | 'skip' } {
  if (name === 'bh-succession') return { method: 'bh', bhStrategy: 'succession' };
  if (name === 'bh-skip') return { method: 'bh', bhStrategy: 'skip' };
  return { method: name as IndexMethod };
}

export interface GridOptions {
  methods: SweepMethod[];
  compressions: number[];
  seeds: number[];
  outDir: string;
  title?: string;
  quiet?: boolean;
  /** Save each cell's model as <outDir>/models/<method>@<ratio>#<seed>.bhm. */
  keepModels?: boolean;
}

export interface GridResult {
  summary: SweepSummaryRow[];
  ran: number;
  skipped: number;
  files: { json: string; csv: string; md: string; svg: string };
  markdown: string;
}

/** Run (or resume) the grid on loaded data and write the four result files. */
export async function runGrid(data: RunData, model: Omit<ModelOptions, 'method' | 'seed' | 'compression'>, grid: GridOptions): Promise<GridResult> {
  mkdirSync(grid.outDir, { recursive: true });
  const files = {
    json: join(grid.outDir, 'results.json'),
    csv: join(grid.outDir, 'results.csv'),
    md: join(grid.outDir, 'results.md'),
    svg: join(grid.outDir, 'auc-vs-compression.svg'),
  };
  const { maxRows, hotCounts: _hot, ...dataKey } = data.options; // hotCounts follows the methods asked, not the cells
  // The data's identity (size, mtime, hash of the head) is part of every cell's key: a file replaced under the same
  // path (demo --quick, then demo) must not reuse cells trained on the old one.
  // Each split's resolved files (globs and folders expanded by loadRunData), one identity per file.
  const identity: Record<string, unknown> = {};
  for (const k of ['train', 'valid', 'test'] as const) {
    const split = data[k];
    if (split !== undefined) identity[k] = split.files.length === 1 ? fileIdentity(split.files[0]) : split.files.map((f) => fileIdentity(f));
  }
  if (dataKey.schema !== undefined) identity.schema = fileIdentity(dataKey.schema);
  const fingerprint: Record<string, unknown> = { data: { ...dataKey, maxRows: maxRows ?? null, identity }, model: { ...model, memoryBudget: undefined, blockBits: undefined } };
  const results = loadSweepResults(files.json, fingerprint);
  const cells = sweepCells(grid.methods, grid.compressions, grid.seeds);
  const log = (s: string): void => {
    if (!grid.quiet) process.stderr.write(`${s}\n`);
  };
  const modelFile = (cell: SweepCell): string => join(grid.outDir, 'models', `${cell.key.replace(/[^A-Za-z0-9@#._-]/g, '_')}.bhm`);
  if (grid.keepModels) mkdirSync(join(grid.outDir, 'models'), { recursive: true });
  const done = (): number => cells.filter((c) => results.cells[c.key] !== undefined && staleReason(results.cells[c.key], results.fingerprint) === null).length;
  const unnote = noteKept(() => `${files.json} with ${done()} of ${cells.length} cells finished; rerun the same command to resume`);
  const { ran, skipped } = await runSweep({
    cells,
    results,
    path: files.json,
    onCell: (cell, i, skip, why) => log(`[${i + 1}/${cells.length}] ${cell.key}${skip ? ': done earlier, skipped' : why !== undefined ? `: trained again, the saved result is out of date (${why})` : ''}`),
    mustRerun: (saved) => (grid.keepModels && saved.infeasible === undefined && !existsSync(modelFile(saved)) ? `--keep-models and ${modelFile(saved)} is missing` : null),
    runCell: async (cell: SweepCell) => {
      const rep = pipelineReporter({ quiet: grid.quiet, label: `  ${cell.method}` });
      const opts: ModelOptions = { ...model, ...sweepMethodOptions(cell.method), seed: cell.seed };
      if (cell.method !== 'full') opts.compression = cell.compression;
      const out = grid.keepModels ? modelFile(cell) : undefined;
      try {
        const { metrics: m } = await trainModel(data, opts, { out, onProgress: (e) => (e.type === 'phase' ? undefined : rep.onProgress(e)), version: packageVersion() });
        rep.done();
        const score = m.test ?? m.valid;
        log(`  ${cell.key}: ${m.embedding.rows} rows (${m.embedding.compression.toFixed(1)}×), ${score ? `AUC ${score.auc.toFixed(4)} logloss ${score.logloss.toFixed(4)}${score.gauc ? ` gAUC ${score.gauc.gauc.toFixed(4)}` : ''}` : 'no valid/test set'}, ${m.train.seconds.toFixed(1)} s`);
        const scores = (s: NonNullable<typeof m.valid>): { auc: number; logloss: number; gauc?: number } => ({ auc: s.auc, logloss: s.logloss, ...(s.gauc ? { gauc: s.gauc.gauc } : {}) });
        return {
          rows: m.embedding.rows,
          actualCompression: m.embedding.compression,
          params: m.embedding.params,
          bytes: m.embedding.bytes,
          valid: m.valid ? scores(m.valid) : undefined,
          test: m.test ? scores(m.test) : undefined,
          seconds: m.train.seconds,
          ...(out !== undefined ? { modelFile: out } : {}),
        };
      } catch (e) {
        rep.done();
        // A ratio the planner cannot build (a field would get fewer rows than its method needs) is recorded with
        // its reason and the sweep goes on; any other error stops it (finished cells stay saved).
        if (isBhembedError(e) && e.code === 'config.invalid' && String(e.details?.key ?? '').startsWith('plan.')) {
          log(`  ${cell.key}: not run: ${e.message}`);
          return { rows: 0, actualCompression: 0, params: 0, bytes: 0, seconds: 0, infeasible: e.message };
        }
        throw e;
      }
    },
  })
    .catch((e: unknown) => {
      if (isBhembedError(e) && e.code === 'config.invalid') throw new UsageError(`sweep: ${e.message} (finished cells are kept in ${files.json}; rerun resumes)`);
      throw e;
    })
    .finally(unnote);
  const summary = summarizeSweep(results, cells);
  const scoreName = data.test ? 'test' : 'valid';
  const markdown = sweepMarkdown(summary, scoreName, model.groupBy) + sweepInfeasibleNotes(results, cells);
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  writeFileAtomic(files.csv, enc(sweepCsv(results, cells)));
  writeFileAtomic(files.md, enc(`# ${grid.title ?? 'bhembed sweep'}\n\n${markdown}`));
  writeFileAtomic(files.svg, enc(sweepSvg(summary, grid.title ?? 'AUC vs embedding compression', scoreName)));
  return { summary, ran, skipped, files, markdown };
}

export function register(program: Command): void {
  const cmd = program
    .command('sweep')
    .description('train every method × compression ratio × seed on one dataset; JSON, CSV, Markdown table and SVG plot; resumes')
    .addHelpText(
      'after',
      `
Writes into --out-dir: results.json (one entry per finished cell; rerunning skips them), results.csv,
results.md (mean ± std over seeds) and auc-vs-compression.svg (log x axis, one line per method).

Example:
  bhembed sweep --train train.txt --valid dev.txt --test test.txt --format criteo \\
    --methods full,hash,qr,dhash,bh --compressions 10,100,1000 --seeds 1,2,3 --out-dir sweep-criteo`,
    );
  addDataOptions(cmd);
  cmd
    .option('--methods <list>', `embedding methods (${SWEEP_METHODS.join(', ')}; bh uses --bh-strategy, bh-succession and bh-skip pin it)`, 'full,hash,qr,dhash,bh')
    .option('--compressions <list>', 'compression ratios fullRows/rows for the compressed methods', '10,100,1000')
    .option('--seeds <list>', 'seeds (each cell is trained once per seed)', '1')
    .option('--out-dir <dir>', 'where results go', 'bhembed-sweep')
    .option('--keep-models', 'save each cell\'s model as <out-dir>/models/<method>@<ratio>#<seed>.bhm (for eval, predict, inspect)')
    .option('--group-by <field>', 'also score each cell by group AUC over this field\'s values (a user id): a gAUC column in results.md/csv/json')
    .option('-q, --quiet', 'no progress output');
  addModelOptions(cmd, { embedding: false });
  cmd.action(withDataExit(async (flags: SweepFlags, c: Command) => runSweepCommand(flags, givenIn(c))));
}

async function runSweepCommand(flags: SweepFlags, given: (key: string) => boolean): Promise<void> {
  // --seed comes with the shared model flags, but every cell takes its seed from --seeds: it was silently ignored.
  if (given('seed')) throw new UsageError(`--seed: a sweep trains one run per seed of --seeds; use --seeds ${flags.seed}`);
  const dataOpts: DataOptions = parseDataFlags(flags);
  const { method: _m, seed: _s, ...model } = parseModelFlags({ ...flags, embedding: 'bh' }, 'bh', given);
  if (flags.groupBy !== undefined) model.groupBy = flags.groupBy;
  const methods = noDuplicates('--methods', parseList(flags.methods).map((m) => parseChoice('--methods', m, SWEEP_METHODS)));
  const compressions = noDuplicates('--compressions', parseList(flags.compressions).map((c) => parseFloatOpt('--compressions', c, 1)));
  const seeds = noDuplicates('--seeds', parseList(flags.seeds).map((s) => parseIntOpt('--seeds', s, 0, 4294967295)));
  if (methods.length === 0 || seeds.length === 0) throw new UsageError('sweep: --methods and --seeds need at least one value');
  if (methods.some((m) => m !== 'full') && compressions.length === 0) throw new UsageError('sweep: --compressions needs at least one ratio');
  if (!dataOpts.valid && !dataOpts.test) throw new UsageError('sweep: give --test (or --valid) to score the cells');
  ensureOutputDir('--out-dir', flags.outDir);
  const rep = pipelineReporter({ quiet: flags.quiet });
  const data = await loadRunData({ ...dataOpts, fullVocab: true, hotCounts: methods.includes('hybrid') || needsHotCounts({ method: 'bh', fields: model.fields }) }, rep.onProgress);
  checkValidClasses(data, model.patience ?? 0, model.epochs);
  groupFieldOf(data, model.groupBy); // a missing or multi-valued field is refused before the first cell
  const r = await runGrid(data, model, { methods, compressions, seeds, outDir: flags.outDir, quiet: flags.quiet, keepModels: flags.keepModels === true });
  process.stdout.write(r.markdown);
  process.stdout.write(`\n${r.ran} cell(s) trained, ${r.skipped} already done; results in ${r.files.json}, ${r.files.csv}, ${r.files.md}, ${r.files.svg}\n`);
  for (const l of skipLines([data.train, data.valid, data.test])) process.stderr.write(`bhembed: ${l}\n`);
}
