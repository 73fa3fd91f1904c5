// One line per method: the only place that maps an IndexSpec to its implementation. A new method adds its
// file, its spec type in config.ts, and one case here.

import type { IndexMethod, IndexSpec } from './config.js';
import { INDEX_METHODS, normalizeIndexSpec } from './config.js';
import { BinaryCodeIndexer } from './binary-code.js';
import { DoubleHashIndexer } from './double-hash.js';
import { FullIndexer } from './full.js';
import { HashIndexer } from './hashing.js';
import { QrIndexer } from './qr.js';
import type { Indexer } from './table.js';

export { INDEX_METHODS };

/** Build the indexer a (JSON) spec describes. Throws ConfigError on an invalid spec. */
export function createIndexer(spec: IndexSpec): Indexer {
  const s = normalizeIndexSpec(spec);
  switch (s.method) {
    case 'bh':
      return new BinaryCodeIndexer(s);
    case 'full':
      return new FullIndexer(s);
    case 'hash':
      return new HashIndexer(s);
    case 'qr':
      return new QrIndexer(s);
    case 'dhash':
      return new DoubleHashIndexer(s);
  }
}

/** True when name is a registered method. */
export function isIndexMethod(name: string): name is IndexMethod {
  return (INDEX_METHODS as readonly string[]).includes(name);
}
