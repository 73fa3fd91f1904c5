// A deliberately slow, obvious reference for docs/index-spec.md: BigInt hash ids from xxhash-wasm (not our
// xxh64), codes as strings of '0'/'1', blocks built bit by bit from the spec's definitions. It shares no code
// with src/embedding, so agreement with the fast path checks both against the written spec.

import xxhash from 'xxhash-wasm';
import { Rng } from '../../../src/core/rng.js';

export type RefSpec =
  | { method: 'bh'; codeBits: number; blockBits: number; strategy: 'succession' | 'skip'; dense?: boolean }
  | { method: 'full'; minCount: number; vocab: string[] }
  | { method: 'hash'; rows: number }
  | { method: 'qr'; remainder: number; quotient: number }
  | { method: 'dhash'; rows: number; hashes: number }
  | { method: 'hybrid'; hot: string[]; cold?: 'bh'; codeBits: number; blockBits: number; strategy: 'succession' | 'skip' }
  | { method: 'hybrid'; hot: string[]; cold: 'dhash'; rows: number; hashes: number };

/** A hybrid spec's cold part as a spec of its own method. */
function coldOf(spec: Extract<RefSpec, { method: 'hybrid' }>): RefSpec {
  return spec.cold === 'dhash' ? { method: 'dhash', rows: spec.rows, hashes: spec.hashes } : { method: 'bh', codeBits: spec.codeBits, blockBits: spec.blockBits, strategy: spec.strategy };
}

export interface VectorCase {
  value: string;
  field: number;
  /** Present (true) when the value is an integer id used as is, not hashed. */
  dense?: true;
  hash: string;
  spec: RefSpec;
  rows: number[];
}

export interface Reference {
  /** The 64-bit hash id of value in field (UTF-8 bytes, seed = field), or the integer itself when dense. */
  hashId(value: string, field: number, dense: boolean): bigint;
  rows(spec: RefSpec, h: bigint): number[];
  numRows(spec: RefSpec): number;
}

const M64 = (1n << 64n) - 1n;

/** Bit i (0 = least significant) of a 64-bit id, read from its binary string. */
function codeBit(h: bigint, i: number): number {
  const s = h.toString(2).padStart(64, '0');
  return s[63 - i] === '1' ? 1 : 0;
}

/** The blocks as lists of code-bit positions, straight from the definitions in the spec. */
export function refBlocks(codeBits: number, blockBits: number, strategy: 'succession' | 'skip'): number[][] {
  const S = codeBits;
  const t = blockBits;
  const K = Math.ceil(S / t);
  const blocks: number[][] = [];
  for (let k = 0; k < K; k++) {
    const bits: number[] = [];
    for (let j = 0; ; j++) {
      const i = strategy === 'succession' ? k * t + j : k + j * K;
      if (strategy === 'succession' && j >= t) break;
      if (i >= S) break;
      bits.push(i);
    }
    blocks.push(bits);
  }
  return blocks;
}

function splitmix(h: bigint, seed: number): bigint {
  let z = (h + BigInt(seed) * 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

export async function loadReference(): Promise<Reference> {
  const { h64 } = await xxhash();
  const numRows = (spec: RefSpec): number => {
    switch (spec.method) {
      case 'bh':
        return refBlocks(spec.codeBits, spec.blockBits, spec.strategy).reduce((a, b) => a + 2 ** b.length, 0);
      case 'full':
        return spec.vocab.length + 1;
      case 'hash':
      case 'dhash':
        return spec.rows;
      case 'qr':
        return spec.remainder + spec.quotient;
      case 'hybrid':
        return spec.hot.length + numRows(coldOf(spec));
    }
  };
  const self: Reference = {
    hashId(value, field, dense) {
      return dense ? BigInt(value) : h64(value, BigInt(field));
    },
    numRows,
    rows(spec, h) {
      switch (spec.method) {
        case 'bh': {
          const out: number[] = [];
          let offset = 0;
          for (const bits of refBlocks(spec.codeBits, spec.blockBits, spec.strategy)) {
            let v = 0;
            bits.forEach((i, j) => {
              v += codeBit(h, i) * 2 ** j;
            });
            out.push(offset + v);
            offset += 2 ** bits.length;
          }
          return out;
        }
        case 'full': {
          const hex = h.toString(16).padStart(16, '0');
          return [spec.vocab.indexOf(hex) + 1];
        }
        case 'hash':
          return [Number(h % BigInt(spec.rows))];
        case 'qr': {
          const m = BigInt(spec.remainder);
          return [Number(h % m), spec.remainder + Number((h / m) % BigInt(spec.quotient))];
        }
        case 'dhash': {
          const out: number[] = [];
          for (let i = 1; i <= spec.hashes; i++) out.push(Number(splitmix(h, i) % BigInt(spec.rows)));
          return out;
        }
        case 'hybrid': {
          // a hot value: its own row (its position in hot), once per cold row; any other: its cold rows (BH or dhash)
          // after the hot rows
          const cold = self.rows(coldOf(spec), h);
          const at = spec.hot.indexOf(h.toString(16).padStart(16, '0'));
          return at >= 0 ? cold.map(() => at) : cold.map((r) => spec.hot.length + r);
        }
      }
    },
  };
  return self;
}

/** The fixed, seeded list of cases in test/vectors/index-vectors.json. */
export function vectorCases(ref: Reference): VectorCase[] {
  const rng = new Rng(20211101);
  const words = ['', 'a', 'abc', 'hello', 'world', '68fd1e64', 'e5ba7672', 'élan', '中文', '😀 emoji', 'a value of exactly thirty-two b!', 'x'.repeat(100)];
  const cases: VectorCase[] = [];
  const add = (value: string, field: number, spec: RefSpec, dense = false): void => {
    const h = ref.hashId(value, field, dense);
    const base = dense ? { value, field, dense: true as const } : { value, field };
    cases.push({ ...base, hash: h.toString(16).padStart(16, '0'), spec, rows: ref.rows(spec, h) });
  };
  const bhSettings: Array<[number, number]> = [
    [64, 8],
    [64, 1],
    [64, 29],
    [64, 7],
    [40, 6],
    [33, 4],
    [32, 5],
    [20, 3],
    [7, 7],
    [1, 1],
    [13, 20],
  ];
  for (const [S, t] of bhSettings) {
    for (const strategy of ['succession', 'skip'] as const) {
      for (let r = 0; r < 3; r++) add(words[rng.int(words.length)], rng.int(40), { method: 'bh', codeBits: S, blockBits: t, strategy });
    }
  }
  for (const strategy of ['succession', 'skip'] as const) {
    for (const id of ['0', '1', '999999', '1048575']) add(id, 0, { method: 'bh', codeBits: 20, blockBits: 3, strategy, dense: true }, true);
  }
  for (const w of words) add(w, 3, { method: 'hash', rows: 1000003 });
  add('hello', 0, { method: 'hash', rows: 2147483647 });
  add('hello', 0, { method: 'hash', rows: 1 });
  for (const w of words) add(w, 5, { method: 'qr', remainder: 1000, quotient: 777 });
  add('42', 0, { method: 'qr', remainder: 10, quotient: 10 }, true);
  for (const w of words) add(w, 7, { method: 'dhash', rows: 65536, hashes: 2 });
  add('hello', 7, { method: 'dhash', rows: 99991, hashes: 4 });
  const vocab = ['hello', 'world', 'abc'].map((w) => ref.hashId(w, 2, false).toString(16).padStart(16, '0'));
  for (const w of ['abc', 'hello', 'world', 'unseen']) add(w, 2, { method: 'full', minCount: 1, vocab });
  return cases;
}
