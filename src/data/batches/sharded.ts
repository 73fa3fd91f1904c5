// One shard of another source's batches: shard k of n keeps batches k, k + n, k + 2n, … of each pass (the
// others are read and dropped), so n trainers on n hosts, each with the same inner source and seed, see disjoint
// batches that together make the whole pass. For the cluster trainer; state is the inner source's plus the count.

import type { BatchBuffer } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import type { BatchShape } from './columns.js';
import type { BatchSource, SourceState } from './source.js';

export class ShardedSource implements BatchSource {
  readonly shape: BatchShape;
  private readonly inner: BatchSource;
  private readonly shard: number;
  private readonly shards: number;
  /** Batches of the inner pass read so far (ours and the others'). */
  private batch = 0;

  constructor(inner: BatchSource, shard: number, shards: number) {
    if (!Number.isInteger(shards) || shards < 1) throw new ConfigError(`shards: must be a positive integer, got ${String(shards)}`, { key: 'shards' });
    if (!Number.isInteger(shard) || shard < 0 || shard >= shards) throw new ConfigError(`shard: must be in [0, ${shards}), got ${String(shard)}`, { key: 'shard' });
    this.inner = inner;
    this.shard = shard;
    this.shards = shards;
    this.shape = inner.shape;
  }

  get mode(): 'memory' | 'stream' {
    return this.inner.mode;
  }

  get rowsPerPass(): number | null {
    return null;
  }

  async next(out: BatchBuffer, max = out.maxBatch): Promise<number> {
    for (;;) {
      const n = await this.inner.next(out, max);
      if (n === 0) {
        this.batch = 0;
        return 0;
      }
      if (this.batch++ % this.shards === this.shard) return n;
    }
  }

  state(): SourceState {
    return { ...this.inner.state(), shard: this.shard, shards: this.shards, batch: this.batch };
  }

  async restore(s: SourceState): Promise<void> {
    if (s.shard !== this.shard || s.shards !== this.shards) throw new ConfigError(`cannot restore shard ${String(s.shard)} of ${String(s.shards)} into shard ${this.shard} of ${this.shards}`);
    await this.inner.restore(s);
    this.batch = typeof s.batch === 'number' ? s.batch : 0;
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}
