// The JS side of the fused inference embedding bag (wasm/assembly/bh-gather.ts): turns each field's BH code
// layout into the kernel's block table (and, for skip, a byte-wise bit-permutation table) once, copies a batch's
// ids into WASM memory, and calls the kernel. Plain numbers in, no embedding/ types: nn/ describes the fields.

import type { Ops } from './ops.js';

/** One single-valued field, as the fused kernel needs it. */
export type FusedBagField =
  | {
      /** BH: row_k = rowBase + offset_k + v_k, v_k the bits of block k of the S-bit code (Yan et al. 2021, §2). */
      kind: 'bh';
      codeBits: number;
      /** Bits per block (embedding/config.ts bhBlockWidths). */
      widths: readonly number[];
      strategy: 'succession' | 'skip';
      rowBase: number;
    }
  | {
      /** Any method: the caller writes the field's K rows per sample (relative to rowBase) into rows(f). */
      kind: 'rows';
      rowsPerValue: number;
      rowBase: number;
    };

/** Memory the fused bag allocates from (a model's TrackedOps, so dispose() frees it). */
export type FusedBagAlloc = Pick<Ops, 'allocF32' | 'allocI32'>;

/**
 * Sum/mean/weighted fusion of single-valued fields for inference, computing rows inside the gather.
 * @example
 * const fb = ops.fusedBag?.(fields, 4096);
 * fb.setBatch(B, batch.fields.map((f) => f.ids));   // 'rows' fields: fill fb.rows(f) instead
 * fb.forward(table, dim, false, out, F * dim);
 */
export interface FusedBag {
  /** Σ_f K_f per-block weights (field f's at its first block), read by forward when useWeights. */
  readonly weights: Float32Array;
  /** First weight of each field in `weights`. */
  readonly weightOffset: readonly number[];
  /** Copy one batch's ids (2·B u32 per field, lo/hi pairs) into kernel memory; 'rows' fields' entries are ignored. */
  setBatch(batchSize: number, ids: readonly Uint32Array[]): void;
  /** The row scratch (maxBatch·K int32, sample-major) of a 'rows' field. */
  rows(field: number): Int32Array;
  /** out[b·outStride + f·dim + j] = Σ_k w_{f,k} · table[row_{f,k}(b)·dim + j] for the last setBatch's samples. */
  forward(table: Float32Array, dim: number, useWeights: boolean, out: Float32Array, outStride: number): void;
  /**
   * forward into an ordinary (non-shared) ArrayBuffer, for a consumer outside WASM: onnxruntime cannot read
   * SharedArrayBuffer views and would copy the whole output (criteo-shaped batch of 4096: 10 MB, ~1.4 ms). Runs a
   * private kernel instance on a copy of the table made on every call, so it returns null (call forward) when the
   * table is over a quarter of the batch's output, or no private instance is available. The view (maxBatch·outStride
   * floats) is valid until the next call; it is not backend memory, so Ops kernels cannot read it.
   */
  forwardPlain(table: Float32Array, dim: number, useWeights: boolean, outStride: number): Float32Array | null;
}

/** What a private (non-shared memory) backend offers the fused bag: memory and its own fused bag. */
export interface FusedBagHost extends FusedBagAlloc {
  fusedBag(fields: readonly FusedBagField[], maxBatch: number): FusedBag | undefined;
}

/** The kernel call: pointers are byte offsets of WASM arrays. */
export type BhBagKernel = (table: Float32Array, dim: number, B: number, F: number, fields: Int32Array, weights: Float32Array, hasWeights: boolean, out: Float32Array, outStride: number) => void;

const FD = 10;

/** Code bit i of a skip field goes to contiguous bit start_{i mod K} + ⌊i / K⌋ (the indexer's permutation). */
function skipPermTable(S: number, widths: readonly number[], alloc: FusedBagAlloc): Int32Array {
  const K = widths.length;
  const starts: number[] = [];
  for (let k = 0, pos = 0; k < K; pos += widths[k], k++) starts.push(pos);
  const bytes = Math.ceil(S / 8);
  const t = alloc.allocI32(bytes * 256 * 2);
  for (let b = 0; b < bytes; b++) {
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
      t[2 * (b * 256 + x)] = lo;
      t[2 * (b * 256 + x) + 1] = hi;
    }
  }
  return t;
}

/** The WASM implementation (WasmOps.fusedBag builds it with its kernel). */
export class WasmFusedBag implements FusedBag {
  readonly weights: Float32Array;
  readonly weightOffset: number[] = [];
  private readonly fields: readonly FusedBagField[];
  private readonly desc: Int32Array;
  private readonly ids: Uint32Array[] = [];
  private readonly rowBufs: Int32Array[] = [];
  private readonly kernel: BhBagKernel;
  private readonly maxBatch: number;
  private batch = 0;
  /** The batch's ids as given (copied into kernel memory by the first forward that needs them). */
  private src: readonly Uint32Array[] = [];
  private idsLoaded = false;
  private readonly plainHost: ((bytes: number) => FusedBagHost | null) | null;
  private readonly plain = new Map<string, { bag: WasmFusedBag; table: Float32Array; out: Float32Array }>();
  private plainFailed = false;

  /** plainHost: makes a private backend of at least `bytes` for forwardPlain (null: none). */
  constructor(fields: readonly FusedBagField[], maxBatch: number, alloc: FusedBagAlloc, kernel: BhBagKernel, plainHost: ((bytes: number) => FusedBagHost | null) | null = null) {
    this.fields = fields;
    this.kernel = kernel;
    this.maxBatch = maxBatch;
    this.plainHost = plainHost;
    const F = fields.length;
    let totalK = 0;
    for (const f of fields) {
      this.weightOffset.push(totalK);
      totalK += f.kind === 'bh' ? f.widths.length : f.rowsPerValue;
    }
    this.weights = alloc.allocF32(Math.max(1, totalK));
    this.desc = alloc.allocI32(F * FD);
    const blocks = alloc.allocI32(Math.max(1, 3 * totalK));
    const perms = new Map<string, Int32Array>();
    for (let f = 0; f < F; f++) {
      const fld = fields[f];
      const K = fld.kind === 'bh' ? fld.widths.length : fld.rowsPerValue;
      const w0 = this.weightOffset[f];
      const d = f * FD;
      let ptr = 0;
      let perm = 0;
      let permBytes = 0;
      if (fld.kind === 'bh') {
        const a = alloc.allocI32(2 * maxBatch);
        this.ids.push(new Uint32Array(a.buffer, a.byteOffset, a.length));
        this.rowBufs.push(new Int32Array(0));
        ptr = a.byteOffset;
        let pos = 0;
        let off = fld.rowBase;
        for (let k = 0; k < K; k++) {
          const w = fld.widths[k];
          blocks[3 * (w0 + k)] = pos;
          blocks[3 * (w0 + k) + 1] = w >= 32 ? -1 : 2 ** w - 1;
          blocks[3 * (w0 + k) + 2] = off;
          pos += w;
          off += 2 ** w;
        }
        if (fld.strategy === 'skip') {
          const key = `${fld.codeBits}:${fld.widths.join(',')}`;
          let t = perms.get(key);
          if (t === undefined) perms.set(key, (t = skipPermTable(fld.codeBits, fld.widths, alloc)));
          perm = t.byteOffset;
          permBytes = Math.ceil(fld.codeBits / 8);
        }
      } else {
        const r = alloc.allocI32(Math.max(1, maxBatch * K));
        this.ids.push(new Uint32Array(0));
        this.rowBufs.push(r);
        ptr = r.byteOffset;
        for (let k = 0; k < K; k++) {
          blocks[3 * (w0 + k)] = 0;
          blocks[3 * (w0 + k) + 1] = 0;
          blocks[3 * (w0 + k) + 2] = fld.rowBase;
        }
      }
      this.desc[d] = fld.kind === 'rows' ? 2 : fld.strategy === 'skip' ? 1 : 0;
      this.desc[d + 1] = K;
      this.desc[d + 2] = ptr;
      this.desc[d + 3] = blocks.byteOffset + 12 * w0;
      this.desc[d + 4] = perm;
      this.desc[d + 5] = permBytes;
      this.desc[d + 6] = w0;
      // Uniform blocks (see bh-gather.ts): succession always (the narrow last block is cut by the S-bit mask), skip
      // when K divides S.
      const uniform = fld.kind === 'bh' && (fld.strategy === 'succession' || fld.widths.every((w) => w === fld.widths[0])) ? fld.widths[0] : 0;
      this.desc[d + 7] = uniform;
      this.desc[d + 8] = fld.kind === 'bh' ? fld.codeBits : 64;
      this.desc[d + 9] = fld.rowBase;
    }
  }

  setBatch(batchSize: number, ids: readonly Uint32Array[]): void {
    if (batchSize > this.maxBatch) throw new RangeError(`fused bag: batch ${batchSize} > maxBatch ${this.maxBatch}`);
    this.src = ids;
    this.batch = batchSize;
    this.idsLoaded = false;
  }

  private loadIds(): void {
    if (this.idsLoaded) return;
    const n = 2 * this.batch;
    for (let f = 0; f < this.fields.length; f++) {
      if (this.fields[f].kind !== 'bh') continue;
      const src = this.src[f];
      this.ids[f].set(src.length === n ? src : src.subarray(0, n));
    }
    this.idsLoaded = true;
  }

  rows(field: number): Int32Array {
    return this.rowBufs[field];
  }

  forward(table: Float32Array, dim: number, useWeights: boolean, out: Float32Array, outStride: number): void {
    this.loadIds();
    this.kernel(table, dim, this.batch, this.fields.length, this.desc, this.weights, useWeights, out, outStride);
  }

  forwardPlain(table: Float32Array, dim: number, useWeights: boolean, outStride: number): Float32Array | null {
    if (4 * table.length > this.batch * outStride) return null;
    const p = this.plainFor(table.length, outStride);
    if (p === null) return null;
    p.table.set(table);
    p.bag.weights.set(this.weights);
    for (let f = 0; f < this.fields.length; f++) {
      const fld = this.fields[f];
      if (fld.kind === 'rows') p.bag.rows(f).set(this.rowBufs[f].subarray(0, this.batch * fld.rowsPerValue));
    }
    p.bag.setBatch(this.batch, this.src);
    p.bag.forward(p.table, dim, useWeights, p.out, outStride);
    return p.out;
  }

  // The private instance, made once per (table size, output width); its memory never grows (a grow would detach
  // every view), so everything it will hold is counted here.
  private plainFor(tableFloats: number, outStride: number): { bag: WasmFusedBag; table: Float32Array; out: Float32Array } | null {
    const key = `${tableFloats}:${outStride}`;
    const known = this.plain.get(key);
    if (known !== undefined) return known;
    if (this.plainFailed || this.plainHost === null) return null;
    const F = this.fields.length;
    const B = this.maxBatch;
    let bytes = 4 * (tableFloats + B * outStride) + (F + 8) * 64 * 8;
    for (const f of this.fields) {
      const K = f.kind === 'bh' ? f.widths.length : f.rowsPerValue;
      bytes += f.kind === 'bh' ? 8 * B + 16 * K + 2048 * Math.ceil(f.codeBits / 8) : 4 * B * K + 16 * K;
    }
    const host = this.plainHost(bytes + (1 << 20));
    if (host === null) return null; // not ready yet (the private module compiles asynchronously)
    const bag = host.fusedBag(this.fields, B);
    if (!(bag instanceof WasmFusedBag)) {
      this.plainFailed = true;
      return null;
    }
    const p = { bag, table: host.allocF32(tableFloats), out: host.allocF32(B * outStride) };
    this.plain.set(key, p);
    return p;
  }
}
