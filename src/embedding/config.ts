// Plain-JSON descriptions of each embedding method's index (one type per method, one union).
// These survive postMessage, model files and CLI JSON. Implementations live in one file per method.

export type BhStrategy = 'succession' | 'skip';

/** Binary Code based Hash Embedding (Yan et al., CIKM 2021). */
export interface BhSpec {
  method: 'bh';
  /** Code length S in bits, 1–64. In dense mode, the bits the largest id needs. */
  codeBits: number;
  /** Block length t in bits, ≥ 1. K = ceil(S / t) blocks. */
  blockBits: number;
  strategy: BhStrategy;
  /** true: ids are dense integers already (code = id), no hashing. @default false */
  dense?: boolean;
}

/** Full embedding: a vocabulary of hash ids seen at least minCount times; row 0 is OOV. */
export interface FullSpec {
  method: 'full';
  minCount: number;
  /** The vocabulary as 16-hex-digit hash ids, in row order starting at row 1. */
  vocab: string[];
}

/** The hashing trick: row = h mod R. */
export interface HashSpec {
  method: 'hash';
  rows: number;
}

/** Quotient-remainder (Shi et al., KDD 2020): rows (h mod m) and m + (floor(h / m) mod q). */
export interface QrSpec {
  method: 'qr';
  /** Remainder table size m. */
  remainder: number;
  /** Quotient table size q. */
  quotient: number;
}

/** Double hashing (Zhang et al., 2020): k independent hashes of h, each mod R, into one table of R rows. */
export interface DoubleHashSpec {
  method: 'dhash';
  rows: number;
  hashes: number;
}

export type IndexSpec = BhSpec | FullSpec | HashSpec | QrSpec | DoubleHashSpec;
export type IndexMethod = IndexSpec['method'];
