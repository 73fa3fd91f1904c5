// One line per method: the only place that maps an IndexSpec to its implementation. A new method adds its
// file, its spec type in config.ts, and one case here.

import type { BhSpec, DoubleHashSpec, FullSpec, HashSpec, HybridSpec, IndexMethod, IndexSpec, QrSpec } from './config.js';
import { INDEX_METHODS, normalizeIndexSpec } from './config.js';
import { BinaryCodeIndexer } from './binary-code.js';
import { DoubleHashIndexer } from './double-hash.js';
import { FullIndexer } from './full.js';
import { HashIndexer } from './hashing.js';
import { HybridIndexer } from './hybrid.js';
import { QrIndexer } from './qr.js';
import type { Indexer } from './table.js';

export { INDEX_METHODS };

/** Build the indexer a (JSON) spec describes. Throws ConfigError on an invalid spec (each constructor validates it). */
export function createIndexer(spec: IndexSpec): Indexer {
  switch ((spec as { method?: unknown } | null)?.method) {
    case 'bh':
      return new BinaryCodeIndexer(spec as BhSpec);
    case 'full':
      return new FullIndexer(spec as FullSpec);
    case 'hash':
      return new HashIndexer(spec as HashSpec);
    case 'qr':
      return new QrIndexer(spec as QrSpec);
    case 'dhash':
      return new DoubleHashIndexer(spec as DoubleHashSpec);
    case 'hybrid':
      return new HybridIndexer(spec as HybridSpec);
    default:
      normalizeIndexSpec(spec); // throws the ConfigError naming the allowed methods
      throw new Error('unreachable');
  }
}

/** True when name is a registered method. */
export function isIndexMethod(name: string): name is IndexMethod {
  return (INDEX_METHODS as readonly string[]).includes(name);
}
