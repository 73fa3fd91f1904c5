// With one worker, `train --cluster` trains the very model `bhembed train` trains: same shuffled batches (the
// shards are runs of the trainer's own row order), same steps, and a merge that copies a lone worker's replica.
// Checked on every tensor of the saved model files, bit for bit, on a real nats-server on loopback.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { JobStore } from '../../src/cluster/nats.js';
import { clusterStatus } from '../../src/cluster/status.js';
import { ClusterWorker } from '../../src/cluster/worker.js';
import { readModelFile } from '../../src/models/model-file.js';
import { loadRunData, trainModel, type DataOptions, type ModelOptions } from '../../src/experiment/pipeline.js';
import { criteoLines } from '../e2e/cli-helpers.js';
import { natsServerMissing, startNats, type NatsCluster } from '../nats-harness.js';
import { tempDir } from '../temp-dir.js';

const missing = natsServerMissing();
if (missing) process.stderr.write(`skipping the cluster tests: ${missing}\n`);

let nats: NatsCluster | null = null;
before(async () => {
  if (!missing) nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

test('one cluster worker trains the same model as bhembed train (every tensor equal, 2 epochs of 4 shards)', { skip: missing ?? false }, async () => {
  const dir = tempDir('bhembed-cluster-');
  const train = join(dir, 'train.txt');
  const testFile = join(dir, 'test.txt');
  writeFileSync(train, `${criteoLines(1100, 1).join('\n')}\n`);
  writeFileSync(testFile, `${criteoLines(300, 3).join('\n')}\n`);
  const data: DataOptions = { format: 'criteo', train, test: testFile };
  const model: ModelOptions = { arch: 'dnn', method: 'bh', compression: 4, dim: 4, mlp: [8], epochs: 2, batchSize: 100, lr: 0.01, optimizer: 'adam', threads: 1, seed: 7 };
  const single = join(dir, 'single.bhm');
  const outcome = await trainModel(await loadRunData(data), model, { out: single });

  const store = await JobStore.open((nats as NatsCluster).url, 'one');
  try {
    // shardRows 250 rounds up to 300 (whole batches): shards of 300, 300, 300, 200 rows per epoch; sync every 200 rows.
    const worker = new ClusterWorker(store, { threads: 1, setup: { data, model, sync: { rows: 200 }, shardRows: 250, ackWaitS: 10, version: 'test' } });
    const report = await worker.run();
    assert.equal(report.shards, 8);
    assert.equal(report.everyRowTrained, true);
    assert.equal(report.rowsTrained, 2200);
    assert.equal(report.rowsTrainedTwice, 0);
    const last = report.versions[report.versions.length - 1];
    assert.deepEqual([last.epochsDone, last.final], [2, true]);
    assert.equal(report.test?.auc, outcome.metrics.test?.auc);

    const file = join(dir, 'cluster.bhm');
    writeFileSync(file, await store.getBlob(last.object));
    const a = readModelFile(single).tensors;
    const b = readModelFile(file).tensors;
    assert.deepEqual(b.map((t) => t.name), a.map((t) => t.name));
    for (let i = 0; i < a.length; i++) assert.deepEqual(b[i].data, a[i].data, `tensor ${a[i].name}`);

    const st = await clusterStatus(store);
    assert.equal(st.state, 'done');
    assert.deepEqual(st.shards, { total: 8, done: 8, pending: 0, inFlight: 0, redelivered: 0 });
    assert.equal(st.versions[st.versions.length - 1].final, true);
    assert.ok(st.lastSync !== null && st.lastSync.workers === 1);
  } finally {
    await store.close();
  }
});
