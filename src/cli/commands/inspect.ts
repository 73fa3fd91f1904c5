// `bhembed inspect`: what a model file holds (format version, architecture, each field's index method, rows and
// compression, tensors and bytes, the training run's metrics) without building the model. Verifies the checksum.

import type { Command } from 'commander';
import type { IndexSpec } from '../../embedding/config.js';
import type { ModelFileHeader, ModelFileMeta } from '../../models/model-file.js';
import { readModelFileHeader } from '../../models/model-file.js';
import type { Arch } from '../../models/config.js';
import { ARCH_PARTS } from '../../models/registry.js';
import { formatBytes } from '../progress.js';

interface InspectFlags {
  json?: boolean;
  tensors?: boolean;
}

interface ModelLike {
  arch?: string;
  dim?: number;
  mlp?: number[];
  numDense?: number;
  fields?: { name: string; index: IndexSpec; fusion?: string; dim?: number }[];
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a model file holds: methods, rows, bytes, compression, training metrics')
    .argument('<model>', 'model file (.bhm)')
    .option('--json', 'print a JSON summary')
    .option('--tensors', 'list every tensor')
    .addHelpText('after', '\nExample:\n  bhembed inspect model.bhm')
    .action((model: string, flags: InspectFlags) => {
      const { header, fileBytes } = readModelFileHeader(model);
      const s = summarize(header, fileBytes);
      process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : formatSummary(s, header, flags.tensors === true));
    });
}

function specText(spec: IndexSpec): string {
  switch (spec.method) {
    case 'bh':
      return `S=${spec.codeBits} t=${spec.blockBits} ${spec.strategy}${spec.dense ? ' dense' : ''}`;
    case 'full':
      return `vocab ${spec.vocab.length}${spec.minCount > 1 ? ` (min count ${spec.minCount})` : ''}`;
    case 'hash':
      return `R=${spec.rows}`;
    case 'qr':
      return `m=${spec.remainder} q=${spec.quotient}`;
    case 'dhash':
      return `R=${spec.rows} k=${spec.hashes}`;
    case 'hybrid':
      return spec.cold === 'dhash' ? `hot ${spec.hot.length} + dhash R=${spec.rows} k=${spec.hashes}` : `hot ${spec.hot.length} + bh S=${spec.codeBits} t=${spec.blockBits} ${spec.strategy}`;
  }
}

export function summarize(header: ModelFileHeader, fileBytes: number): Record<string, unknown> {
  const model = (header.model ?? {}) as ModelLike;
  const meta = (header.meta ?? {}) as Partial<ModelFileMeta>;
  const metaFields = meta.embedding?.fields ?? [];
  const fields = (model.fields ?? []).map((f, i) => {
    const mf = metaFields[i];
    return {
      name: f.name,
      method: f.index.method,
      spec: specText(f.index),
      rows: mf?.rows,
      fullRows: mf?.fullRows,
      compression: mf && mf.rows ? mf.fullRows / mf.rows : undefined,
      fusion: f.fusion,
      dim: f.dim ?? model.dim,
      ...(f.index.method === 'hybrid' ? { hot: f.index.hot.length, hotShare: mf?.hotShare, keyBytes: mf?.keyBytes } : {}),
    };
  });
  const rows = fields.reduce((a, f) => a + (f.rows ?? 0), 0);
  const fullRows = fields.reduce((a, f) => a + (f.fullRows ?? 0), 0);
  // Every embedding byte, as `train` counts them: the tables and the weighted fusion's block weights, in float32
  // (a float16 file stores half; `stored` says so).
  const embTensors = header.tensors.filter((t) => t.name.endsWith('.table') || t.name.endsWith('.block_weights'));
  const methods: Record<string, number> = {};
  for (const f of fields) methods[f.method] = (methods[f.method] ?? 0) + 1;
  return {
    file: { bytes: fileBytes, formatVersion: header.version, createdAt: header.createdAt, dtype: header.tensors[0]?.dtype ?? 'float32', bhembed: meta.bhembed },
    model: { arch: model.arch, dim: model.dim, mlp: model.mlp, numDense: model.numDense },
    data: meta.data ? { format: meta.data.format, fields: meta.data.fieldNames?.length, dense: meta.data.denseNames?.length } : undefined,
    embedding: {
      method: meta.embedding?.method,
      methods,
      rows,
      fullRows,
      compression: rows > 0 ? fullRows / rows : undefined,
      bytes: embTensors.reduce((a, t) => a + 4 * t.shape.reduce((p, d) => p * d, 1), 0),
      stored: embTensors.reduce((a, t) => a + t.bytes, 0),
      tables: embTensors.map((t) => ({ name: t.name, shape: t.shape, bytes: t.bytes })),
    },
    tensors: { count: header.tensors.length, bytes: header.tensors.reduce((a, t) => a + t.bytes, 0) },
    fields,
    metrics: meta.metrics ? { valid: meta.metrics.valid, test: meta.metrics.test } : undefined,
    engine: meta.engine,
    evalBatch: meta.evalBatch,
  };
}

function formatSummary(s: Record<string, unknown>, header: ModelFileHeader, listTensors: boolean): string {
  const file = s.file as { bytes: number; formatVersion: number; createdAt: string; dtype: string; bhembed?: string };
  const model = s.model as { arch?: string; dim?: number; mlp?: number[]; numDense?: number };
  const emb = s.embedding as { method?: string; methods: Record<string, number>; rows: number; fullRows: number; compression?: number; bytes: number; stored: number };
  const fields = s.fields as { name: string; method: string; spec: string; rows?: number; fullRows?: number; compression?: number; hot?: number; hotShare?: number; dim?: number }[];
  const metrics = s.metrics as { valid?: { auc: number; logloss: number }; test?: { auc: number; logloss: number } } | undefined;
  const lines: string[] = [];
  lines.push(`file      ${formatBytes(file.bytes)}, format v${file.formatVersion}, ${file.dtype} weights, written ${file.createdAt}${file.bhembed ? ` by bhembed ${file.bhembed}` : ''}`);
  const parts = model.arch && model.arch in ARCH_PARTS ? ARCH_PARTS[model.arch as Arch] : null;
  const deep = parts === null || parts.deep || parts.cross;
  // Fields with their own dim: a dim column, and the model line gives every width.
  const mixed = fields.some((f) => f.dim !== model.dim);
  const dims = [...new Set(fields.map((f) => f.dim))].sort((a, b) => (a ?? 0) - (b ?? 0));
  const dimText = parts === null || parts.fm || deep ? (mixed ? `, dims ${dims.join(', ')} per field (default ${model.dim})` : `, dim ${model.dim}`) : '';
  lines.push(`model     ${model.arch}${dimText}${deep && model.mlp ? `, mlp [${model.mlp.join(', ')}]` : ''}${model.numDense ? `, ${model.numDense} dense inputs` : ''}`);
  const methodList = Object.entries(emb.methods).map(([m, n]) => `${m} ×${n}`).join(', ');
  lines.push(`embedding ${emb.method ?? '?'} (fields: ${methodList}); ${emb.rows} rows, full ${emb.fullRows} rows → ${emb.compression?.toFixed(1) ?? '?'}× compression; tables ${formatBytes(emb.bytes)}${emb.stored !== emb.bytes ? ` (${formatBytes(emb.stored)} stored as ${file.dtype})` : ''}`);
  // JSON turns NaN (e.g. AUC of a one-class file) into null.
  const f4 = (x: unknown): string => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
  if (metrics?.valid) lines.push(`valid     AUC ${f4(metrics.valid.auc)}  logloss ${f4(metrics.valid.logloss)}`);
  if (metrics?.test) lines.push(`test      AUC ${f4(metrics.test.auc)}  logloss ${f4(metrics.test.logloss)}`);
  lines.push('');
  const w = Math.max(5, ...fields.map((f) => f.name.length));
  // hybrid models: how many rows are hot and the share of training occurrences those values carry
  const anyHot = fields.some((f) => f.hot !== undefined);
  const hotCol = (f: (typeof fields)[number]): string =>
    !anyHot ? '' : `  ${(f.hot === undefined ? '' : String(f.hot)).padStart(7)}  ${(f.hotShare === undefined ? '' : `${(100 * f.hotShare).toFixed(1)} %`).padStart(8)}`;
  const dimCol = (f: (typeof fields)[number] | null): string => (!mixed || !deep ? '' : `  ${(f === null ? 'dim' : String(f.dim ?? '?')).padStart(4)}`);
  lines.push(`${'field'.padEnd(w)}  method  ${'rows'.padStart(8)}  ${'full rows'.padStart(9)}  ${'×'.padStart(7)}${dimCol(null)}${anyHot ? `  ${'hot'.padStart(7)}  ${'hot occ'.padStart(8)}` : ''}  index`);
  for (const f of fields) {
    lines.push(
      `${f.name.padEnd(w)}  ${f.method.padEnd(6)}  ${String(f.rows ?? '?').padStart(8)}  ${String(f.fullRows ?? '?').padStart(9)}  ${(f.compression?.toFixed(1) ?? '?').padStart(7)}${dimCol(f)}${hotCol(f)}  ${f.spec}`,
    );
  }
  if (listTensors) {
    lines.push('');
    for (const t of header.tensors) lines.push(`${t.name.padEnd(28)} [${t.shape.join(', ')}]  ${t.dtype}  ${formatBytes(t.bytes)}`);
  }
  return `${lines.join('\n')}\n`;
}
