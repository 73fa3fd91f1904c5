// The public entry of the bhembed library: every export is named here, grouped by stage. Internal code never
// imports this file. Left out on purpose: kernels (WASM/onnxruntime seams), workers and layer internals.

// --- errors ---
export { BhembedError, ConfigError, DataError, IoError, CheckpointError, UsageError, isBhembedError } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';

// --- hashing and ids ---
export { xxh64Bytes, xxh64String, BatchHasher } from './hash/xxh64.js';
export { idToBigInt, idToHex, allocIds } from './core/ids.js';
export type { HashIds } from './core/ids.js';
export { Rng } from './core/rng.js';

// --- embedding index methods (config, one class per method, registry, planner) ---
export { INDEX_METHODS, MAX_TABLE_ROWS, bhBlockWidths, bhNumRows, denseCodeBits, normalizeIndexSpec } from './embedding/config.js';
export type { IndexSpec, IndexMethod, BhSpec, BhStrategy, FullSpec, HashSpec, QrSpec, DoubleHashSpec } from './embedding/config.js';
export type { Indexer } from './embedding/table.js';
export { createIndexer, isIndexMethod } from './embedding/registry.js';
export { BinaryCodeIndexer } from './embedding/binary-code.js';
export { FullIndexer, FullVocabBuilder } from './embedding/full.js';
export { HashIndexer } from './embedding/hashing.js';
export { QrIndexer } from './embedding/qr.js';
export { DoubleHashIndexer } from './embedding/double-hash.js';
export { planEmbeddings, hashedCodeBits, DEFAULT_MAX_COLLISION_RATE } from './embedding/planner.js';
export type { PlanField, PlanTarget, FieldPlan, EmbeddingPlan } from './embedding/planner.js';

// --- models ---
export { ARCHS, defineModelConfig, normalizeModelConfig } from './models/config.js';
export type { Arch, FieldConfig, ModelConfig, NormalizedModelConfig } from './models/config.js';
export { createModel } from './models/registry.js';
export { readModelFile, writeModelFile, MODEL_FILE_VERSION } from './models/model-file.js';
export type { OptimConfig } from './nn/optim/config.js';
export type { Batch, BatchField } from './core/batch.js';
export { BatchBuffer } from './core/batch.js';

// --- data ---
export { openReader } from './data/open.js';
export { DATA_FORMATS, formatSkips } from './data/reader.js';
export type { DataFormat, DataReader, ReaderOptions, OnError, PassStats } from './data/reader.js';
export type { DataChunk, FieldColumn, FieldInfo } from './data/chunk.js';
export { loadDataset } from './data/dataset.js';
export type { Dataset as LoadedDataset } from './data/dataset.js';
export { countDistinct, DistinctCounter } from './data/distinct.js';
export { generateCriteo, expectedAuc, CRITEO_KAGGLE_CARDINALITIES } from './data/generate.js';
export type { GenerateOptions, GenerateStats } from './data/generate.js';
// the one seam the trainer pulls batches from: rows in memory (shuffled or in order), streamed, sharded
export { appendRows, batchBufferOf, shapeOf, checkColumns } from './data/batches/columns.js';
export type { Columns, ColumnField, BatchShape } from './data/batches/columns.js';
export type { BatchSource, SourceState } from './data/batches/source.js';
export { MemorySource, columnsFromRows } from './data/batches/memory.js';
export type { MemorySourceOptions, PlainRow } from './data/batches/memory.js';
export { StreamSource } from './data/batches/stream.js';
export type { StreamSourceOptions } from './data/batches/stream.js';
export { ShardedSource } from './data/batches/sharded.js';

// --- training ---
export { Trainer } from './train/trainer.js';
export type { TrainerOptions, FitResult, EvalResult } from './train/trainer.js';
export { BinaryMetrics, auc, logloss } from './train/metrics.js';
export { trainModel, loadRunData, withTrainingDefaults } from './experiment/pipeline.js';
export type { ModelOptions, ModelOptionsInput, DataOptions, RunData } from './experiment/pipeline.js';
export { TRAINING_DEFAULTS } from './experiment/defaults.js';
// checkpoints (--checkpoint-dir/--resume), continued training (--init-from) and published versions (--publish-dir)
export { readCheckpoint, readLatestCheckpoint, listCheckpoints, writeCheckpoint } from './train/resume/checkpoint-file.js';
export type { CheckpointContents, CheckpointHeader } from './train/resume/checkpoint-file.js';
export { readInitSource } from './train/resume/init-from.js';
export type { InitSource } from './train/resume/init-from.js';
export type { TrainerCheckpoint, TrainerLoopState, FitOptions } from './train/trainer.js';
export { runSweep, summarizeSweep } from './experiment/sweep.js';

// --- serving ---
export { Predictor } from './serve/predictor.js';
// Plain-object rows hashed exactly as the training format's reader hashes file rows (Predictor.predictRows uses it).
export { RowEncoder, RowError } from './data/row-encoder.js';
export type { Row, RowValue, RowEncoderOptions } from './data/row-encoder.js';
// The HTTP server of `bhembed serve` (fastify and prom-client load only when it is created).
export { createModelServer } from './serve/http/server.js';
export type { ModelServer, ServerOptions } from './serve/http/server.js';
