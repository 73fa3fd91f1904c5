// Weight quantization for the int8 serving path (ort.ts): symmetric, one scale per output column, so each output
// of a Linear keeps its own range. Plain TS with no onnxruntime import, so it can be tested and reused alone.

/**
 * Serving precision of a dense tower's inference forward. 'int8' trades ~1e-3 relative logit error for ~3× tower
 * speed (activations quantized per batch); 'int8-static' quantizes each hidden layer's input with a fixed,
 * calibrated scale instead, so a row's score does not depend on its batch (and the tower is faster still).
 */
export type InferPrecision = 'fp32' | 'int8' | 'int8-static';
export const INFER_PRECISIONS: readonly InferPrecision[] = ['fp32', 'int8', 'int8-static'];

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

/** Affine uint8 quantization of an activation: x ≈ (q − zeroPoint) · scale, q ∈ [0, 255]. */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

/**
 * The uint8 scale and zero point that cover a calibrated range [min, max] (widened to include 0, so 0 and ReLU
 * outputs' lower end are exact): scale = (max − min) / 255, zeroPoint = round(−min / scale). A ReLU output (min 0)
 * gets zero point 0 and all 256 levels on [0, max]; an empty range (max = min = 0) gets scale 1. Values outside
 * the range saturate to 0 or 255 when quantized.
 */
export function activationQuant(min: number, max: number): ActivationQuant {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: 0 };
  // The scale is stored as float32 in the graph: round it here so the zero point is computed from the same value.
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}
