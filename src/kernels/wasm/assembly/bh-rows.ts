// BH row indices for training (Yan et al. CIKM 2021, §2, succession strategy): block k of a value's 64-bit code is
// its bits [start_k, start_k + w_k), and its row is first_k + that number. Writes the rows straight into the
// training layout's sample-major row array (the JS indexer would write field-major scratch that is then copied).
//
//   ids: n (lo, hi) u32 pairs      blocks: 3 i32 per block: start bit | mask (2^w − 1) | first row (rowBase + offset)
//   out[b·outStride + outOffset + k] = first_k + ((code_b >> start_k) & mask_k)

export function bhRows(ids: usize, n: i32, blocks: usize, K: i32, out: usize, outStride: i32, outOffset: i32): void {
  for (let b = 0; b < n; b++) {
    const code = load<u64>(ids + (<usize>b << 3));
    const dst = out + (<usize>(b * outStride + outOffset) << 2);
    for (let k = 0; k < K; k++) {
      const bp = blocks + <usize>k * 12;
      const v = <i32>((code >> <u64>load<i32>(bp)) & <u64>load<u32>(bp, 4));
      store<i32>(dst + (<usize>k << 2), load<i32>(bp, 8) + v);
    }
  }
}
