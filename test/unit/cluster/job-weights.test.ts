// Cluster training takes no sample weights (its shards carry none, its workers' loss takes none): a job given a
// weight column is refused before anything is read or uploaded, by the CLI and by setupJob itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupJob } from '../../../src/cluster/job.js';
import type { JobStore } from '../../../src/cluster/nats.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';

test('cluster training with a weight column is refused (setupJob and train --cluster), nothing touched', async () => {
  let touched = false;
  const store = new Proxy({}, { get: () => () => ((touched = true), Promise.resolve()) }) as unknown as JobStore;
  await assert.rejects(
    setupJob(store, { data: { format: 'csv', train: 'none.csv', weightColumn: 'w' }, model: { arch: 'lr', method: 'hash', compression: 2, dim: 4, epochs: 1, batchSize: 8, lr: 0.1, optimizer: 'adam', threads: 1, seed: 1 }, sync: { rows: 100 }, ackWaitS: 10, version: 'test' }, () => true),
    /weightColumn 'w': cluster training does not weigh rows yet/,
  );
  assert.equal(touched, false, 'the store was not used');
  const r = await bhembedInProcess(['train', '--cluster', 'nats://127.0.0.1:1', '--job', 'j', '--train', 'none.csv', '--format', 'csv', '--weight-column', 'w']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--weight-column: --cluster training does not weigh rows yet/);
});
