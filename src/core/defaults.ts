// The one set of training defaults, at the bottom of the layout so every layer reads the same numbers: the trainer
// and optimizers (train/, nn/) for options left out, `trainModel` (library) and the CLI's `train`/`sweep` flags
// (through experiment/defaults.ts), so the same data gives the same model either way (they had drifted: the library
// fused with 'sum', used a [256, 128] tower and no early stopping, the CLI 'weighted', [128, 64] and patience 2: AUC
// 0.8743 vs 0.8480 on one dataset).

/** Defaults of ModelOptions (pipeline.ts) and of the matching CLI flags. Plain data. */
export const TRAINING_DEFAULTS = {
  arch: 'deepfm',
  method: 'bh',
  bhStrategy: 'succession',
  dim: 16,
  mlp: [128, 64],
  fusion: 'weighted',
  epochs: 1,
  batchSize: 256,
  lr: 0.001,
  optimizer: 'adam',
  threads: 1,
  sparseSync: 'merged',
  seed: 1,
  /** Early stopping on validation AUC (only with a validation set); 0 = train every epoch, keep the last. */
  patience: 2,
  dropout: 0,
  embeddingL2: 0,
  weightDecay: 0,
  initStd: 0.01,
  engine: 'auto',
  gemm: 'auto',
  /** full embeddings: values seen fewer times in the training data share the OOV row (1 = every value gets a row). */
  minCount: 1,
} as const;
