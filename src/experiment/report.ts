// The metrics JSON a training run writes (`bhembed train --metrics out.json`) and the sweep/demo read back. One
// shape for all of them, so tables compare like with like. fullRows is what a full table would need: the distinct
// values per field in the training data plus one OOV row per field; compression = fullRows / rows.

export interface ScoreReport {
  auc: number;
  logloss: number;
  rows: number;
  /** --weight-column: the rows' total sample weight (AUC and logloss are then weighted). */
  weight?: number;
  /** --eval-every: validation after every so many training rows (`rows` here: training rows seen, in whole batches). */
  series?: { rows: number; auc: number; logloss: number }[];
  /** --group-by FIELD: group AUC (train/metrics.ts GroupAuc), the mean of per-group AUCs weighted by group size. */
  gauc?: GroupAucReport;
}

/** Group AUC in the metrics JSON: the field, the value, and how many groups (and their rows) entered or were skipped. */
export interface GroupAucReport {
  field: string;
  gauc: number;
  groups: number;
  skippedGroups: number;
  rows: number;
  skippedRows: number;
}

/** One line for a group AUC: value, and groups used and skipped (one class only). */
export function formatGauc(g: GroupAucReport): string {
  return `gAUC by ${g.field} ${formatAuc(g.gauc)} (${g.groups} groups, ${g.rows} rows; ${g.skippedGroups} one-class groups, ${g.skippedRows} rows, left out)`;
}

export interface FieldEmbeddingReport {
  name: string;
  method: string;
  rows: number;
  /** Distinct values in the training data + 1 (OOV). */
  fullRows: number;
  /** hybrid: values with a row of their own. */
  hot?: number;
  /** hybrid: share of the training occurrences the hot values carry. */
  hotShare?: number;
  /** hybrid: bytes of the hot values' 64-bit keys (part of the memory budget). */
  keyBytes?: number;
  /** This field's own embedding dim (--fields "dim"), when not the run's. */
  dim?: number;
}

export interface EmbeddingReport {
  /** The method asked for; fields the planner left full are listed in `fields`. */
  method: string;
  /** Embedding rows, all fields. */
  rows: number;
  /** Trainable embedding parameters (rows × dim, plus BH block weights when learned). */
  params: number;
  /** Bytes of float32 embedding weights, plus the hybrid method's hot keys. */
  bytes: number;
  fullRows: number;
  /** fullRows / rows (hybrid: rows plus its hot keys' bytes counted in rows). */
  compression: number;
  dim: number;
  fields: FieldEmbeddingReport[];
}

export interface TrainReport {
  rows: number;
  epochs: number;
  seconds: number;
  samplesPerSec: number;
  threads: number;
  /** threads > 1: 'merged' (one optimizer step per embedding row, as on 1 thread) or 'hogwild'. */
  sparseSync?: string;
  batchSize: number;
  lr: number;
  optimizer: string;
  seed: number;
  /** Early stopping patience (0 = off). */
  patience?: number;
  /** With early stopping: the 1-based epoch whose weights the model keeps (best validation AUC). */
  keptEpoch?: number;
  /** With early stopping: whether it stopped before --epochs. */
  stoppedEarly?: boolean;
  dropout?: number;
  batchNorm?: boolean;
  /** L2 on touched embedding rows. */
  embeddingL2?: number;
  weightDecay?: number;
  initStd?: number;
  embeddingLr?: number;
  /** Full tables: values seen fewer times in the training data share the OOV row (absent: 1, every value has a row). */
  minCount?: number;
  /** Rows dropped under --on-error skip, per reason. */
  skipped?: Record<string, number>;
  /** Training loss per epoch. */
  loss?: number[];
  /** How the training rows were read: held in memory, or streamed from the files each epoch through a shuffle buffer. */
  data?: {
    mode: 'memory' | 'stream';
    shuffleBuffer?: number;
    files: number;
    distinctEstimated: boolean;
    /**
     * Planned without a counting pass: the distinct counts are the plan sample's (its first sampleRows rows; the
     * growingFields were still gaining values, their counts are lower bounds), and rows, positives and skips come
     * from the first epoch (rowsFrom).
     */
    planCounts?: { from: 'sample'; sampleRows: number; growingFields: string[] };
    rowsFrom?: 'first epoch';
    /** --weight-column: the column the training rows were weighted by. */
    weightColumn?: string;
  };
  /** --resume: the checkpoint the run went on from and its training rows. */
  resumedFrom?: { file: string; rows: number };
  /** --init-from: where the weights came from; full-table fields: training values not in the vocabulary (OOV row). */
  initFrom?: { file: string; kind: 'model' | 'checkpoint'; optimizerState: boolean; oovValues?: Record<string, number>; oovTotal?: number };
  /** --checkpoint-dir: checkpoints written by this run (the final one included). */
  checkpoints?: { dir: string; written: number };
  /** --publish-dir: the model versions written. */
  published?: { dir: string; versions: number[] };
}

export interface RunMetrics {
  model: string;
  embedding: EmbeddingReport;
  train: TrainReport;
  valid?: ScoreReport;
  test?: ScoreReport;
  /** Dense (non-embedding) parameters. */
  denseParams?: number;
  /** Path of the model file written, when any. */
  modelFile?: string;
  modelFileBytes?: number;
  data: { format: string; train: string; valid?: string; test?: string };
  bhembedVersion?: string;
  createdAt: string;
}

/** Sum rows over fields and derive fullRows and compression. */
export function summarizeEmbedding(method: string, dim: number, fields: FieldEmbeddingReport[], params: number): EmbeddingReport {
  const rows = fields.reduce((a, f) => a + f.rows, 0);
  const fullRows = fields.reduce((a, f) => a + f.fullRows, 0);
  const keyBytes = fields.reduce((a, f) => a + (f.keyBytes ?? 0), 0);
  // hot keys in row equivalents: keyBytes over the bytes of an average row
  const keyRows = keyBytes > 0 && params > 0 ? keyBytes / ((4 * params) / rows) : 0;
  return { method, rows, params, bytes: params * 4 + keyBytes, fullRows, compression: rows > 0 ? fullRows / (rows + keyRows) : NaN, dim, fields };
}

/**
 * An AUC for people: one class alone leaves it undefined (NaN in memory, null once written as JSON), which prints as
 * 'n/a (one class only)' like `bhembed eval`, not 'NaN'.
 */
export function formatAuc(auc: number | null): string {
  return typeof auc === 'number' && Number.isFinite(auc) ? auc.toFixed(4) : 'n/a (one class only)';
}

/** Short human summary lines for the terminal. JSON written from RunMetrics has null for an undefined AUC. */
export function formatRunMetrics(m: RunMetrics): string[] {
  const e = m.embedding;
  const lines = [
    `model ${m.model}, embedding ${e.method}: ${e.rows} rows (${(e.bytes / 1024).toFixed(1)} KB), full would be ${e.fullRows} rows → ${e.compression.toFixed(1)}× compression`,
    `trained ${m.train.rows} rows × ${m.train.epochs} epoch(s) in ${m.train.seconds.toFixed(1)} s (${Math.round(m.train.samplesPerSec)} samples/s, ${m.train.threads} thread(s))`,
  ];
  const d = m.train.data;
  if (d) {
    const how = d.mode === 'memory' ? 'held in memory' : `streamed from ${d.files} file(s) each epoch, shuffle buffer ${d.shuffleBuffer} rows`;
    const counts = d.planCounts
      ? `estimated on the first ${d.planCounts.sampleRows} rows, no counting pass (${d.planCounts.growingFields.length} field(s) still growing there, never kept full); rows from the first epoch`
      : d.distinctEstimated
        ? 'estimated (HyperLogLog)'
        : 'counted exactly';
    lines.push(`data: ${how}; distinct values per field ${counts}${d.weightColumn !== undefined ? `; rows weighted by column ${d.weightColumn}` : ''}`);
  }
  const t = m.train;
  if (t.resumedFrom) lines.push(`resumed from ${t.resumedFrom.file} (${t.resumedFrom.rows} training rows done)`);
  if (t.initFrom) {
    const i = t.initFrom;
    lines.push(`started from ${i.file} (${i.kind === 'checkpoint' ? 'weights and optimizer state' : 'weights; optimizer state fresh'})`);
    if (i.oovValues) lines.push(`full tables: ${i.oovTotal ?? 0} training values not in the model's vocabulary went to the OOV row (${Object.entries(i.oovValues).filter(([, n]) => n > 0).map(([f, n]) => `${f} ${n}`).join(', ') || 'none'})`);
  }
  if (t.checkpoints) lines.push(`checkpoints: ${t.checkpoints.written} written to ${t.checkpoints.dir}`);
  if (t.published) lines.push(`published ${t.published.versions.length} version(s) to ${t.published.dir}${t.published.versions.length ? ` (${t.published.versions[0]}–${t.published.versions[t.published.versions.length - 1]})` : ''}`);
  const kept = m.train.keptEpoch;
  if (kept !== undefined && (kept !== m.train.epochs || m.train.stoppedEarly === true)) {
    lines.push(`${m.train.stoppedEarly === true ? `stopped early after epoch ${m.train.epochs} (no validation AUC gain for ${m.train.patience} epochs); ` : ''}kept the weights of epoch ${kept}, the best validation AUC: the scores below and the model file are epoch ${kept}'s`);
  }
  const wt = (s: ScoreReport): string => (s.weight !== undefined ? `, weighted: total weight ${Number.isInteger(s.weight) ? s.weight : s.weight.toFixed(2)}` : '');
  if (m.valid) lines.push(`valid: AUC ${formatAuc(m.valid.auc)}  logloss ${m.valid.logloss.toFixed(4)}  (${m.valid.rows} rows${wt(m.valid)})${m.valid.gauc ? `  ${formatGauc(m.valid.gauc)}` : ''}`);
  if (m.test) lines.push(`test:  AUC ${formatAuc(m.test.auc)}  logloss ${m.test.logloss.toFixed(4)}  (${m.test.rows} rows${wt(m.test)})${m.test.gauc ? `  ${formatGauc(m.test.gauc)}` : ''}`);
  return lines;
}
