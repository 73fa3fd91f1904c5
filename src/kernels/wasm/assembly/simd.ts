// Row-tail SIMD helpers shared by the embedding kernels: the last dim % 4 floats of a row as one vector, read and
// written without touching memory past the row. Not re-exported by index.ts (internal to the module).

/** The last `rem` (1–3) floats at p as one vector, lanes past them zero. */
// @ts-ignore: decorator
@inline
export function loadTail(p: usize, rem: i32): v128 {
  if (rem == 1) return v128.load32_zero(p);
  if (rem == 2) return v128.load64_zero(p);
  return f32x4.replace_lane(v128.load64_zero(p), 2, load<f32>(p + 8));
}

/** Store the first `rem` (1–3) lanes of v at p. */
// @ts-ignore: decorator
@inline
export function storeTail(p: usize, v: v128, rem: i32): void {
  if (rem == 1) {
    store<f32>(p, f32x4.extract_lane(v, 0));
    return;
  }
  v128.store64_lane(p, v, 0);
  if (rem == 3) store<f32>(p + 8, f32x4.extract_lane(v, 2));
}
