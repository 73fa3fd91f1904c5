// Binary Code based Hash Embedding index (Yan et al., "Binary Code based Hash Embedding for Web-scale
// Applications", CIKM 2021, §2 and Fig. 2): the S-bit binary code of a value is cut into K = ceil(S/t)
// blocks, each block's bits form an integer v_k, and block k reads row offset_k + v_k of one shared table.
// Pure integer maths on u32 halves; fusing the K rows (sum/mean/concat) belongs to the embedding bag in nn/.

import type { HashIds } from '../core/ids.js';
import { DataError } from '../core/errors.js';
import type { BhSpec, IndexSpec } from './config.js';
import { bhBlockWidths, normalizeIndexSpec } from './config.js';
import type { Indexer } from './table.js';

/** Where block k's bits sit inside the (permuted) 64-bit code. */
const IN_LO = 0;
const IN_HI = 1;
const STRADDLE = 2;

/**
 * BH indexer. Code = the low S bits of the hash id (bit 0 = least significant), or the id itself in dense mode.
 *   succession: bit j of v_k = code bit k·t + j
 *   skip:       bit j of v_k = code bit k + j·K
 * row_k = offset_k + v_k, offset_k = Σ_{j<k} 2^width_j, numRows = Σ_k 2^width_k.
 *
 * Skip is computed as a bit permutation (eight 256-entry tables, one per code byte) that lays the blocks out
 * contiguously, followed by the same contiguous extraction as succession.
 *
 * @example
 *   const bh = new BinaryCodeIndexer({ method: 'bh', codeBits: 64, blockBits: 8, strategy: 'succession' });
 *   const rows = new Int32Array(n * bh.rowsPerValue);
 *   bh.index(ids, n, rows); // 8 rows per id, each in [0, 2048)
 */
export class BinaryCodeIndexer implements Indexer {
  readonly method = 'bh' as const;
  readonly numRows: number;
  readonly rowsPerValue: number;
  readonly spec: Required<BhSpec>;
  /** Bits held by each block. */
  readonly widths: readonly number[];
  /** First row of each block's slice of the table. */
  readonly offsets: readonly number[];

  private readonly kind: Uint8Array;
  private readonly shift: Int32Array;
  private readonly mask: Int32Array;
  private readonly offs: Int32Array;
  /** Skip only: permutation tables, entry b·256 + byteValue = the permuted bits of code byte b. */
  private readonly permLo: Uint32Array | null;
  private readonly permHi: Uint32Array | null;
  private readonly permBytes: number;

  constructor(spec: BhSpec) {
    const s = normalizeIndexSpec(spec) as Required<BhSpec>;
    this.spec = s;
    const S = s.codeBits;
    const t = s.blockBits;
    const widths = bhBlockWidths(S, t, s.strategy);
    const K = widths.length;
    this.widths = widths;
    this.rowsPerValue = K;
    this.kind = new Uint8Array(K);
    this.shift = new Int32Array(K);
    this.mask = new Int32Array(K);
    this.offs = new Int32Array(K);
    const offsets: number[] = [];
    let off = 0;
    let pos = 0; // first bit of block k in the contiguous layout
    const starts: number[] = [];
    for (let k = 0; k < K; k++) {
      const w = widths[k];
      offsets.push(off);
      this.offs[k] = off;
      this.mask[k] = 2 ** w - 1;
      starts.push(pos);
      if (pos + w <= 32) {
        this.kind[k] = IN_LO;
        this.shift[k] = pos;
      } else if (pos >= 32) {
        this.kind[k] = IN_HI;
        this.shift[k] = pos - 32;
      } else {
        this.kind[k] = STRADDLE;
        this.shift[k] = pos;
      }
      off += 2 ** w;
      pos += w;
    }
    this.offsets = offsets;
    this.numRows = off;

    if (s.strategy === 'skip') {
      // code bit i = k + j·K goes to contiguous bit starts[k] + j
      this.permBytes = Math.ceil(S / 8);
      this.permLo = new Uint32Array(this.permBytes * 256);
      this.permHi = new Uint32Array(this.permBytes * 256);
      for (let b = 0; b < this.permBytes; b++) {
        for (let x = 0; x < 256; x++) {
          let lo = 0;
          let hi = 0;
          for (let bit = 0; bit < 8; bit++) {
            const i = 8 * b + bit;
            if (i >= S || ((x >>> bit) & 1) === 0) continue;
            const dest = starts[i % K] + Math.floor(i / K);
            if (dest < 32) lo |= 1 << dest;
            else hi |= 1 << (dest - 32);
          }
          this.permLo[b * 256 + x] = lo >>> 0;
          this.permHi[b * 256 + x] = hi >>> 0;
        }
      }
    } else {
      this.permBytes = 0;
      this.permLo = null;
      this.permHi = null;
    }
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const K = this.rowsPerValue;
    const kind = this.kind;
    const shift = this.shift;
    const mask = this.mask;
    const offs = this.offs;
    const permLo = this.permLo;
    const permHi = this.permHi;
    const permBytes = this.permBytes;
    const dense = this.spec.dense;
    let o = outOffset;
    for (let i = 0; i < n; i++) {
      let lo = ids[2 * i];
      let hi = ids[2 * i + 1];
      if (dense) this.checkDense(lo, hi, i);
      if (permLo !== null && permHi !== null) {
        let pl = 0;
        let ph = 0;
        for (let b = 0; b < permBytes; b++) {
          const x = b < 4 ? (lo >>> (8 * b)) & 255 : (hi >>> (8 * b - 32)) & 255;
          pl |= permLo[(b << 8) | x];
          ph |= permHi[(b << 8) | x];
        }
        lo = pl >>> 0;
        hi = ph >>> 0;
      }
      for (let k = 0; k < K; k++) {
        const sh = shift[k];
        const kd = kind[k];
        const v = kd === IN_LO ? lo >>> sh : kd === IN_HI ? hi >>> sh : (lo >>> sh) | (hi << (32 - sh));
        out[o++] = offs[k] + (v & mask[k]);
      }
    }
  }

  toSpec(): IndexSpec {
    return { ...this.spec };
  }

  private checkDense(lo: number, hi: number, i: number): void {
    const S = this.spec.codeBits;
    const over = S >= 64 ? false : S >= 32 ? hi >>> (S - 32) !== 0 : hi !== 0 || lo >>> S !== 0;
    if (over) {
      const id = (BigInt(hi) << 32n) | BigInt(lo);
      throw new DataError(`dense id ${id} (value ${i} of the batch) needs more than codeBits=${S} bits; raise codeBits to the bits the largest id needs`, {
        reason: 'dense id out of range',
      });
    }
  }
}
