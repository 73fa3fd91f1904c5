// Where the peer exporter gets its indexers: the library's registry (src/embedding/registry.ts), or with
// --fallback-index a small bench-local copy with the same Indexer contract (kept to cross-check the library).
// The dump records which one ran, so a fallback table is never mistaken for bhembed's own rows.

import type { HashIds } from '../../src/core/ids.js';
import type { BhSpec, FullSpec } from '../../src/embedding/config.js';
import type { Indexer } from '../../src/embedding/table.js';

export interface IndexerSource {
  kind: 'library' | 'fallback';
  /** Build the indexer for one field; full needs the field's training ids (n ids in `ids`) to learn its vocabulary. */
  build(spec: { method: 'full'; minCount: number } | BhSpec, trainIds: HashIds, n: number): Indexer;
}

/** The library's registry (createIndexer + FullVocabBuilder), or with forceFallback the bench-local copy. */
export async function loadIndexerSource(forceFallback = false): Promise<IndexerSource> {
  if (!forceFallback) {
    const { createIndexer } = await import('../../src/embedding/registry.js');
    const { FullVocabBuilder } = await import('../../src/embedding/full.js');
    return {
      kind: 'library',
      build(spec, ids, n) {
        if (spec.method === 'full') {
          const b = new FullVocabBuilder(Math.min(n, 1 << 20));
          b.add(ids, n);
          return createIndexer(b.build(spec.minCount));
        }
        return createIndexer(spec);
      },
    };
  }
  return {
    kind: 'fallback',
    build(spec, ids, n) {
      return spec.method === 'full' ? new FallbackFull(fallbackFullSpec(ids, n, spec.minCount)) : new FallbackBh(spec);
    },
  };
}

/** 53-bit key of a 64-bit id (low 32 bits + 21 high bits); a clash needs equal low 53 bits. Fallback only. */
function key53(ids: HashIds, i: number): number {
  return (ids[2 * i + 1] & 0x1fffff) * 4294967296 + ids[2 * i];
}

function hex(ids: HashIds, i: number): string {
  return ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0');
}

/** Vocabulary of ids seen ≥ minCount times, in first-seen order; row 0 is OOV. */
export function fallbackFullSpec(ids: HashIds, n: number, minCount: number): FullSpec {
  const counts = new Map<number, number>();
  const first = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const k = key53(ids, i);
    const c = counts.get(k);
    if (c === undefined) {
      counts.set(k, 1);
      first.set(k, i);
    } else counts.set(k, c + 1);
  }
  const vocab: string[] = [];
  for (const [k, c] of counts) if (c >= minCount) vocab.push(hex(ids, first.get(k) as number));
  return { method: 'full', minCount, vocab };
}

class FallbackFull implements Indexer {
  readonly method = 'full' as const;
  readonly numRows: number;
  readonly rowsPerValue = 1;
  private readonly map = new Map<number, number>();

  constructor(private readonly spec: FullSpec) {
    this.numRows = spec.vocab.length + 1;
    spec.vocab.forEach((h, r) => {
      const hi = parseInt(h.slice(0, 8), 16);
      const lo = parseInt(h.slice(8), 16);
      this.map.set((hi & 0x1fffff) * 4294967296 + lo, r + 1);
    });
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    for (let i = 0; i < n; i++) out[outOffset + i] = this.map.get(key53(ids, i)) ?? 0;
  }

  toSpec(): FullSpec {
    return this.spec;
  }
}

/**
 * BH (Yan et al., CIKM 2021, §3): the id's S-bit code is cut into K = ceil(S/t) blocks of t bits; block k's
 * value v selects row k·2^t + v (one sub-table per block, so numRows = K·2^t). 'succession' takes consecutive
 * bits, 'skip' takes bits k, k+K, k+2K, …
 */
class FallbackBh implements Indexer {
  readonly method = 'bh' as const;
  readonly numRows: number;
  readonly rowsPerValue: number;

  constructor(private readonly spec: BhSpec) {
    this.rowsPerValue = Math.ceil(spec.codeBits / spec.blockBits);
    this.numRows = this.rowsPerValue * 2 ** spec.blockBits;
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const { codeBits: s, blockBits: t, strategy } = this.spec;
    const k = this.rowsPerValue;
    const size = 2 ** t;
    for (let i = 0; i < n; i++) {
      const lo = ids[2 * i];
      const hi = ids[2 * i + 1];
      const bit = (b: number): number => (b < 32 ? (lo >>> b) & 1 : (hi >>> (b - 32)) & 1);
      for (let blk = 0; blk < k; blk++) {
        let v = 0;
        for (let j = 0; j < t; j++) {
          const b = strategy === 'succession' ? blk * t + j : blk + j * k;
          if (b < s) v |= bit(b) << j;
        }
        out[outOffset + i * k + blk] = blk * size + v;
      }
    }
  }

  toSpec(): BhSpec {
    return this.spec;
  }
}
