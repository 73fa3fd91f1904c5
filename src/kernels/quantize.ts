// Weight quantization for the int8 serving path (ort.ts): symmetric, one scale per output column, so each output
// of a Linear keeps its own range. Plain TS with no onnxruntime import, so it can be tested and reused alone.

/** Serving precision of a dense tower's inference forward. 'int8' trades ~1e-3 relative logit error for ~3× tower speed. */
export type InferPrecision = 'fp32' | 'int8';
export const INFER_PRECISIONS: readonly InferPrecision[] = ['fp32', 'int8'];

/** A [inDim × outDim] weight matrix as int8 with per-column scales: w[i,j] ≈ q[i,j] · scale[j]. */
export interface QuantizedColumns {
  q: Int8Array;
  scale: Float32Array;
}

/**
 * Symmetric per-column quantization: scale[j] = max_i |w[i,j]| / qmax, q = round(w / scale) (an all-zero
 * column gets scale 1 and q = 0). The rounding error of each weight is at most scale[j] / 2.
 */
export function quantizeColumns(w: Float32Array, inDim: number, outDim: number, qmax = 127): QuantizedColumns {
  const q = new Int8Array(inDim * outDim);
  const scale = new Float32Array(outDim);
  const maxAbs = new Float32Array(outDim);
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) {
      const a = Math.abs(w[row + j]);
      if (a > maxAbs[j]) maxAbs[j] = a;
    }
  }
  const inv = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    scale[j] = maxAbs[j] > 0 ? maxAbs[j] / qmax : 1;
    inv[j] = 1 / scale[j];
  }
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) {
      const v = Math.round(w[row + j] * inv[j]);
      q[row + j] = v > qmax ? qmax : v < -qmax ? -qmax : v;
    }
  }
  return { q, scale };
}
