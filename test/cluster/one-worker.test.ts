// With one worker, `train --cluster` trains the very model `bhembed train` trains: same shuffled batches (the
// shards are runs of the trainer's own row order), same steps, and a merge that copies a lone worker's replica.
// Checked on every tensor of the saved model files, bit for bit, on a real nats-server on loopback.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeShard, encodeShard } from '../../src/cluster/codec.js';
import { shardBlob, shardColumns, type JobSpec } from '../../src/cluster/job.js';
import { JobStore } from '../../src/cluster/nats.js';
import type { Columns } from '../../src/data/batches/columns.js';
import { clusterStatus } from '../../src/cluster/status.js';
import { ClusterWorker } from '../../src/cluster/worker.js';
import { readModelFile } from '../../src/models/model-file.js';
import { loadRunData, trainModel, type DataOptions, type ModelOptions } from '../../src/experiment/pipeline.js';
import { criteoLines } from '../e2e/cli-helpers.js';
import { freePorts, natsServerMissing, startNats, type NatsCluster } from '../nats-harness.js';
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

/** 1,100 training and 300 test rows in a temp dir, and a small DNN with BH (2 epochs of 100-row batches). */
function smallJob(prefix: string): { dir: string; data: DataOptions; model: ModelOptions } {
  const dir = tempDir(prefix);
  const train = join(dir, 'train.txt');
  const testFile = join(dir, 'test.txt');
  writeFileSync(train, `${criteoLines(1100, 1).join('\n')}\n`);
  writeFileSync(testFile, `${criteoLines(300, 3).join('\n')}\n`);
  const data: DataOptions = { format: 'criteo', train, test: testFile };
  const model: ModelOptions = { arch: 'dnn', method: 'bh', compression: 4, dim: 4, mlp: [8], epochs: 2, batchSize: 100, lr: 0.01, optimizer: 'adam', threads: 1, seed: 7 };
  return { dir, data, model };
}

test('one cluster worker trains the same model as bhembed train (every tensor equal, 2 epochs of 4 shards)', { skip: missing ?? false }, async () => {
  const { dir, data, model } = smallJob('bhembed-cluster-');
  const single = join(dir, 'single.bhm');
  const outcome = await trainModel(await loadRunData(data), model, { out: single });

  // Submissions through the object store (a header in the KV value names the blob), as a model over the server's
  // max_payload would send them; the streamed test below sends them as KV values.
  const store = await JobStore.open((nats as NatsCluster).url, 'one', { maxValueBytes: 1 });
  try {
    // shardRows 250 rounds up to 300 (whole batches): shards of 300, 300, 300, 200 rows per epoch; sync every 200 rows.
    // Progress as the CLI's bars see it: rows within each shard rise to its size; each finished shard's loss.
    const seen: { id: string; done: number[]; loss?: number; epoch: number; rows: number }[] = [];
    const worker = new ClusterWorker(store, {
      threads: 1,
      setup: { data, model, sync: { rows: 200 }, shardRows: 250, ackWaitS: 10, version: 'test' },
      onRows: (p) => {
        if (seen.length === 0 || seen[seen.length - 1].id !== p.shard.id) seen.push({ id: p.shard.id, done: [], epoch: p.shard.epoch, rows: p.shard.rows });
        seen[seen.length - 1].done.push(p.done);
      },
      onShard: (s) => {
        const last = seen[seen.length - 1];
        assert.equal(last.id, s.shard.id);
        last.loss = s.loss;
        assert.equal(s.total, 8);
      },
    });
    const report = await worker.run();
    assert.deepEqual(seen.map((s) => s.id), ['e0-s0', 'e0-s1', 'e0-s2', 'e0-s3', 'e1-s0', 'e1-s1', 'e1-s2', 'e1-s3']);
    for (const s of seen) {
      assert.equal(s.done[s.done.length - 1], s.rows, s.id);
      assert.ok(s.done.every((d, i) => i === 0 || d > s.done[i - 1]), `${s.id}: ${s.done.join(',')}`);
    }
    // The shards' losses, weighted by rows, are the single run's last-epoch training loss (the same steps).
    const epoch2 = seen.filter((s) => s.epoch === 1);
    const clusterLoss = epoch2.reduce((a, s) => a + (s.loss as number) * s.rows, 0) / 1100;
    const losses = outcome.metrics.train.loss ?? [];
    const singleLoss = losses[losses.length - 1];
    assert.ok(Math.abs(clusterLoss - singleLoss) < 1e-9 * Math.abs(singleLoss), `${clusterLoss} vs ${singleLoss}`);
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

test('streamed setup (--data-mode stream): the input is cut into runs of whole batches, uploaded once, every row trained each epoch', { skip: missing ?? false }, async () => {
  const { data, model } = smallJob('bhembed-cluster-stream-');
  const held = (await loadRunData(data)).train.columns as Columns;
  const store = await JobStore.open((nats as NatsCluster).url, 'streamed');
  try {
    const worker = new ClusterWorker(store, { threads: 1, setup: { data: { ...data, dataMode: 'stream' }, model, sync: { rows: 200 }, shardRows: 250, ackWaitS: 10, version: 'test' } });
    const report = await worker.run();
    assert.equal(report.shards, 8);
    assert.equal(report.everyRowTrained, true);
    assert.equal(report.rowsTrained, 2200);
    const spec = (await store.getJson<JobSpec>('spec'))?.value as JobSpec;
    // Runs of 300, 300, 300, 200 rows in file order; each epoch takes every run once.
    for (const e of [0, 1]) assert.deepEqual(spec.shards.filter((s) => s.epoch === e).map((s) => s.blob).sort(), ['rows/0', 'rows/1', 'rows/2', 'rows/3']);
    const runs = [];
    for (let k = 0; k < 4; k++) runs.push(decodeShard(await store.getBlob(`rows/${k}`)));
    assert.deepEqual(runs.map((r) => r.rows), [300, 300, 300, 200]);
    // Joined in order, the runs are the input's rows exactly (labels, every field's ids, dense values).
    let at = 0;
    for (const r of runs) {
      const want = encodeShard(held, Int32Array.from({ length: r.rows }, (_, i) => at + i));
      assert.deepEqual(encodeShard(r, Int32Array.from({ length: r.rows }, (_, i) => i)), want);
      at += r.rows;
    }
    // A worker trains a run in its shard's shuffled order: the same rows, in another order.
    const s0 = spec.shards[0];
    const rows = shardColumns(await store.getBlob(shardBlob(s0)), s0);
    const run = runs[Number(s0.blob?.slice(5))];
    assert.notDeepEqual(rows.labels, run.labels);
    assert.deepEqual([...rows.labels].sort(), [...run.labels].sort());
    assert.ok((report.test?.auc ?? 0) > 0.6, `test AUC ${report.test?.auc}`);
  } finally {
    await store.close();
  }
});

test('a --cluster list whose first servers are down connects to the one that runs (a lone server keeps one replica)', { skip: missing ?? false }, async () => {
  const dead = (await freePorts(2)).map((p) => `nats://127.0.0.1:${p}`);
  const store = await JobStore.open([...dead, (nats as NatsCluster).url].join(','), 'fallback');
  try {
    assert.equal(store.nc.getServer(), (nats as NatsCluster).url.replace('nats://', ''));
    assert.equal((await store.jsm.streams.info(store.names.stream)).config.num_replicas, 1);
  } finally {
    await store.close();
  }
});
