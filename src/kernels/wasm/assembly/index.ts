// AssemblyScript entry: re-exports every kernel under the op name used in ops.ts (plus a few helpers the
// loader needs). Built with --runtime stub and imported shared memory; nothing here allocates.

export { gemm, gemmScratchBytes } from './gemm';
export { addRowVector, sumRows, relu, reluBackward, sigmoid, mul, axpy, dropoutMask, bceWithLogits, crossForward, crossBackward } from './elementwise';
export { embeddingBagForward, embeddingBagBackward, embeddingBagWeightGrad, sparseGradMerge, sparseSgd, sparseAdagrad, sparseAdam, adam, rowSplit, rowSubtract, sparseAdamStep, sparseAdagradStep } from './embedding';
export { bhBagForward } from './bh-gather';
export { bhRows } from './bh-rows';
export { batchNormTrain, batchNormInfer, batchNormBackward, fmForward, fmBackward } from './norm';

/** First byte after the module's static data; the JS allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** Reads the i32 at ptr (the loader uses it to check that a JS buffer is this memory). */
export function peek(ptr: usize): i32 {
  return atomic.load<i32>(ptr);
}
