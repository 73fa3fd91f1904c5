// 64-bit hash ids without BigInt: a batch of n ids is a Uint32Array of 2n words, little-endian pairs
// (lo0, hi0, lo1, hi1, …). On little-endian hosts `new BigUint64Array(ids.buffer, ids.byteOffset, n)` views
// the same bytes, so other code can share them with no copy.
//
//   ids = [lo0, hi0, lo1, hi1]   ->  id0 = hi0·2^32 + lo0,  id1 = hi1·2^32 + lo1

/** n 64-bit ids as 2n little-endian u32 words. */
export type HashIds = Uint32Array;

export function allocIds(n: number): HashIds {
  return new Uint32Array(2 * n);
}

export function idToBigInt(ids: HashIds, i: number): bigint {
  return (BigInt(ids[2 * i + 1]) << 32n) | BigInt(ids[2 * i]);
}

export function idToHex(ids: HashIds, i: number): string {
  return ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0');
}

export function setIdFromBigInt(ids: HashIds, i: number, v: bigint): void {
  ids[2 * i] = Number(v & 0xffffffffn);
  ids[2 * i + 1] = Number((v >> 32n) & 0xffffffffn);
}
