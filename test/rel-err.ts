// Shared by tests that compare a float result with a reference: the normwise relative error ‖a − b‖₂ / ‖b‖₂.

/** ‖a − b‖₂ / ‖b‖₂ over the first b.length entries. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
