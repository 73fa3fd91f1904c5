// Sweep bookkeeping: methods × compression ratios × seeds on one dataset. Each finished cell is saved at once in a
// results file keyed by cell, so an interrupted sweep resumes without redoing finished cells. Training itself is
// injected (runCell), which keeps this file testable and free of data loading.

import { existsSync, readFileSync } from 'node:fs';
import { IoError } from '../core/errors.js';
import { writeFileAtomic } from '../models/model-file.js';
import { linePlotSvg } from './plot-svg.js';

export interface SweepCell {
  /** `method@ratio#seed`, e.g. `bh@100#1`. Full embeddings have ratio 1. */
  key: string;
  method: string;
  /** Target compression ratio (fullRows / rows); 1 for full. */
  compression: number;
  seed: number;
}

export interface EvalScores {
  auc: number;
  logloss: number;
  /** sweep --group-by: group AUC (NaN when no group has both classes). */
  gauc?: number;
}

export interface SweepCellResult {
  key: string;
  method: string;
  compression: number;
  seed: number;
  /** Embedding rows actually used, all fields together. */
  rows: number;
  /** fullRows / rows actually reached (the planner rounds). */
  actualCompression: number;
  params: number;
  bytes: number;
  valid?: EvalScores;
  test?: EvalScores;
  seconds: number;
  finishedAt: string;
  /** The shared options and data identity the cell was trained with (loadSweepResults compares them). */
  fingerprint?: Record<string, unknown>;
  /** The cell's model file (sweep --keep-models). */
  modelFile?: string;
  /**
   * Set when the cell cannot be built (e.g. the ratio leaves a field fewer rows than its method needs): the
   * reason, kept so a resumed sweep does not retry it; such a cell has no scores and is left out of the summary.
   */
  infeasible?: string;
}

export interface SweepResultsFile {
  format: 'bhembed-sweep';
  version: 1;
  /** The options every cell shares (data and its identity, model, dim, epochs…) of the latest run. */
  fingerprint: Record<string, unknown>;
  cells: Record<string, SweepCellResult>;
}

export interface SweepSummaryRow {
  method: string;
  compression: number;
  seeds: number;
  actualCompression: number;
  rows: number;
  bytes: number;
  aucMean: number;
  aucStd: number;
  loglossMean: number;
  loglossStd: number;
  /** sweep --group-by: group AUC mean and std over the seeds (absent without). */
  gaucMean?: number;
  gaucStd?: number;
  /**
   * AUC relative to full embeddings: per seed, this cell's AUC / the full cell's AUC of the same seed, then mean
   * and sample std over the seeds that have both (NaN when the grid has no full cell for any of them).
   */
  relMean: number;
  relStd: number;
  seconds: number;
}

export function cellKey(method: string, compression: number, seed: number): string {
  return `${method}@${compression}#${seed}`;
}

/** The grid, in run order: per seed, full first (once), then each method at each ratio. */
export function sweepCells(methods: string[], compressions: number[], seeds: number[]): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const seed of seeds) {
    for (const method of methods) {
      const ratios = method === 'full' ? [1] : compressions;
      for (const c of ratios) cells.push({ key: cellKey(method, c, seed), method, compression: c, seed });
    }
  }
  return cells;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** {a: {b: 1}} → {'a.b': 1}; undefined values dropped. */
function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/**
 * Open a results file: a fresh one when `path` does not exist, else the saved cells. Cells saved under other shared
 * options or other data are kept in the file but count as not done (staleReason says why); runSweep retrains them.
 */
export function loadSweepResults(path: string, fingerprint: Record<string, unknown>): SweepResultsFile {
  if (!existsSync(path)) return { format: 'bhembed-sweep', version: 1, fingerprint, cells: {} };
  let parsed: SweepResultsFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as SweepResultsFile;
  } catch (e) {
    throw new IoError(`${path}: cannot read sweep results (${(e as Error).message}); delete it or pick another --out-dir`, { file: path });
  }
  if (parsed?.format !== 'bhembed-sweep' || typeof parsed.cells !== 'object' || parsed.cells === null) {
    throw new IoError(`${path}: not a bhembed sweep results file; delete it or pick another --out-dir`, { file: path });
  }
  // Files from before per-cell fingerprints: each cell carries the file's.
  for (const c of Object.values(parsed.cells)) if (c.fingerprint === undefined) c.fingerprint = parsed.fingerprint ?? {};
  parsed.fingerprint = fingerprint;
  return parsed;
}

/**
 * Why a saved cell cannot be reused under `fingerprint` (null: it can): the options or data that differ, e.g.
 * `data.train.bytes: 2400000 → 54000000, data.train.head: 9f2c… → 41d0…`.
 */
export function staleReason(cell: SweepCellResult, fingerprint: Record<string, unknown>): string | null {
  const was = flatten(cell.fingerprint ?? {});
  const now = flatten(fingerprint);
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])];
  const diff = keys.filter((k) => stableJson(was[k]) !== stableJson(now[k]));
  if (diff.length === 0) return null;
  const shown = diff.slice(0, 4).map((k) => `${k}: ${was[k] === undefined ? 'unset' : stableJson(was[k])} → ${now[k] === undefined ? 'unset' : stableJson(now[k])}`);
  return `${shown.join(', ')}${diff.length > 4 ? `, and ${diff.length - 4} more` : ''}`;
}

export function saveSweepResults(path: string, results: SweepResultsFile): void {
  writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(results, null, 2)}\n`));
}

export interface RunSweepOptions {
  cells: SweepCell[];
  results: SweepResultsFile;
  /** Where to save after every cell. */
  path: string;
  runCell: (cell: SweepCell) => Promise<Omit<SweepCellResult, 'key' | 'method' | 'compression' | 'seed' | 'finishedAt'>>;
  /** Called before each cell with whether it is skipped (already done), or why a saved result is trained again. */
  onCell?: (cell: SweepCell, index: number, skipped: boolean, rerunBecause?: string) => void;
  /** A saved cell that is otherwise reusable but must run again (e.g. its kept model file is missing): why, or null. */
  mustRerun?: (saved: SweepCellResult) => string | null;
}

/** Run the cells not yet in `results`, saving after each. Returns how many ran and how many were skipped. */
export async function runSweep(opts: RunSweepOptions): Promise<{ ran: number; skipped: number }> {
  let ran = 0;
  let skipped = 0;
  for (let i = 0; i < opts.cells.length; i++) {
    const cell = opts.cells[i];
    const saved = opts.results.cells[cell.key];
    const why = saved === undefined ? null : (staleReason(saved, opts.results.fingerprint) ?? opts.mustRerun?.(saved) ?? null);
    if (saved !== undefined && why === null) {
      skipped++;
      opts.onCell?.(cell, i, true);
      continue;
    }
    opts.onCell?.(cell, i, false, why ?? undefined);
    const r = await opts.runCell(cell);
    opts.results.cells[cell.key] = { key: cell.key, method: cell.method, compression: cell.compression, seed: cell.seed, ...r, fingerprint: opts.results.fingerprint, finishedAt: new Date().toISOString() };
    saveSweepResults(opts.path, opts.results);
    ran++;
  }
  return { ran, skipped };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Sample standard deviation (0 for one seed). */
function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Mean and std over seeds of each (method, ratio), using test scores (valid when there is no test set). */
export function summarizeSweep(results: SweepResultsFile, cells?: SweepCell[]): SweepSummaryRow[] {
  const groups = new Map<string, SweepCellResult[]>();
  const order = cells ? cells.map((c) => c.key) : Object.keys(results.cells);
  for (const key of order) {
    const r = results.cells[key];
    if (!r || r.infeasible !== undefined) continue;
    const g = `${r.method}@${r.compression}`;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(r);
  }
  const fullAuc = new Map<number, number>();
  for (const r of groups.get('full@1') ?? []) {
    const s = r.test ?? r.valid;
    if (s) fullAuc.set(r.seed, s.auc);
  }
  const rows: SweepSummaryRow[] = [];
  for (const rs of groups.values()) {
    const scores = rs.map((r) => r.test ?? r.valid).filter((s): s is EvalScores => s !== undefined);
    const rel: number[] = [];
    for (const r of rs) {
      const s = r.test ?? r.valid;
      const f = fullAuc.get(r.seed);
      if (s && f !== undefined) rel.push(s.auc / f);
    }
    const gaucs = scores.filter((s) => s.gauc !== undefined).map((s) => s.gauc as number);
    rows.push({
      ...(gaucs.length > 0 ? { gaucMean: mean(gaucs), gaucStd: std(gaucs) } : {}),
      method: rs[0].method,
      compression: rs[0].compression,
      seeds: rs.length,
      actualCompression: mean(rs.map((r) => r.actualCompression)),
      rows: rs[0].rows,
      bytes: rs[0].bytes,
      aucMean: mean(scores.map((s) => s.auc)),
      aucStd: std(scores.map((s) => s.auc)),
      loglossMean: mean(scores.map((s) => s.logloss)),
      loglossStd: std(scores.map((s) => s.logloss)),
      relMean: mean(rel),
      relStd: std(rel),
      seconds: mean(rs.map((r) => r.seconds)),
    });
  }
  return rows.sort((a, b) => (a.method === b.method ? a.compression - b.compression : 0));
}

function csvField(v: unknown): string {
  const s = v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per finished cell (the gAUC columns last, so the earlier columns keep their places). */
export function sweepCsv(results: SweepResultsFile, cells?: SweepCell[]): string {
  const head = ['key', 'method', 'compression', 'seed', 'actual_compression', 'rows', 'params', 'bytes', 'valid_auc', 'valid_logloss', 'test_auc', 'test_logloss', 'seconds', 'infeasible', 'valid_gauc', 'test_gauc'];
  const keys = cells ? cells.map((c) => c.key).filter((k) => results.cells[k]) : Object.keys(results.cells);
  const lines = keys.map((k) => {
    const r = results.cells[k];
    return [r.key, r.method, r.compression, r.seed, r.actualCompression, r.rows, r.params, r.bytes, r.valid?.auc, r.valid?.logloss, r.test?.auc, r.test?.logloss, r.seconds, r.infeasible, r.valid?.gauc, r.test?.gauc]
      .map(csvField)
      .join(',');
  });
  return `${[head.join(','), ...lines].join('\n')}\n`;
}

function pm(m: number, s: number, digits: number): string {
  if (!Number.isFinite(m)) return '–';
  return s > 0 ? `${m.toFixed(digits)} ± ${s.toFixed(digits)}` : m.toFixed(digits);
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** A Markdown table of the summary (one row per method and ratio). `scoreName` labels the score columns. */
export function sweepMarkdown(summary: SweepSummaryRow[], scoreName = 'test', groupBy?: string): string {
  // A gAUC column when the cells were scored with --group-by.
  const g = summary.some((r) => r.gaucMean !== undefined);
  const lines = [
    `| method | target × | actual × | rows | embedding bytes | ${scoreName} AUC | AUC / full | ${scoreName} logloss |${g ? ` ${scoreName} gAUC${groupBy !== undefined ? ` by ${groupBy}` : ''} |` : ''} seeds | s/run |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|${g ? '---:|' : ''}---:|---:|`,
  ];
  for (const r of summary) {
    lines.push(
      `| ${r.method} | ${r.compression} | ${r.actualCompression.toFixed(1)} | ${r.rows} | ${kb(r.bytes)} | ${pm(r.aucMean, r.aucStd, 4)} | ${pm(r.relMean, r.relStd, 4)} | ${pm(r.loglossMean, r.loglossStd, 4)} |${g ? ` ${pm(r.gaucMean ?? NaN, r.gaucStd ?? 0, 4)} |` : ''} ${r.seeds} | ${r.seconds.toFixed(1)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One Markdown bullet per method and ratio that could not be built, with the seeds and the reason ('' when none). */
export function sweepInfeasibleNotes(results: SweepResultsFile, cells?: SweepCell[]): string {
  const keys = cells ? cells.map((c) => c.key) : Object.keys(results.cells);
  const groups = new Map<string, { seeds: number[]; reason: string }>();
  for (const k of keys) {
    const r = results.cells[k];
    if (r?.infeasible === undefined) continue;
    const g = `${r.method}@${r.compression}`;
    const e = groups.get(g) ?? { seeds: [], reason: r.infeasible };
    e.seeds.push(r.seed);
    groups.set(g, e);
  }
  const lines = [...groups].map(([g, e]) => `- ${g} (seed${e.seeds.length > 1 ? 's' : ''} ${e.seeds.join(', ')}) not run: ${e.reason}`);
  return lines.length ? `\nCells that cannot be built at their ratio:\n${lines.join('\n')}\n` : '';
}

/** AUC vs actual compression, log x axis, one line per method; full is its point at 1× plus a dashed level line. */
export function sweepSvg(summary: SweepSummaryRow[], title = 'AUC vs embedding compression', scoreName = 'test'): string {
  const methods = [...new Set(summary.map((r) => r.method))];
  return linePlotSvg({
    title,
    xLabel: 'compression (full rows / rows)',
    yLabel: `${scoreName} AUC`,
    series: methods.map((m) => ({
      name: m,
      points: summary.filter((r) => r.method === m).map((r) => ({ x: r.actualCompression, y: r.aucMean, err: r.aucStd })),
      reference: m === 'full',
    })),
  });
}
