// `bhembed train --cluster URL --job NAME …` (one worker of a job on NATS JetStream) and `bhembed cluster
// status|models`. The work is src/cluster/; this file maps flags and prints. The @nats-io clients load only here.

import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { DataOptions, ModelOptions } from '../../experiment/pipeline.js';
import { parseChoice, parseFloatOpt, parseIntOpt, required } from '../options.js';
import { packageVersion, writeJson } from '../common.js';
import { formatCount, Progress } from '../progress.js';

export interface ClusterFlags {
  cluster?: string;
  job?: string;
  syncEvery?: string;
  shardRows?: string;
  ackWait?: string;
  merge?: string;
  out?: string;
  metrics?: string;
  quiet?: boolean;
}

/** The train flags that only mean something with --cluster. */
export function addClusterTrainOptions(cmd: Command): Command {
  return cmd
    .option('--cluster <url>', 'train as one worker of a job on NATS JetStream (nats://HOST:4222; several URLs comma-separated)')
    .option('--job <name>', 'cluster job name (every worker of the job passes the same one)')
    .option('--sync-every <n>', 'cluster: average the replicas every N rows per worker, or every Ns seconds (e.g. 2s); also at each shard end', '16384')
    .option('--shard-rows <n>', 'cluster: rows per shard (rounded up to whole batches)', '16384')
    .option('--ack-wait <seconds>', "cluster: a shard whose worker is silent this long goes to another worker", '10')
    .option('--merge <mode>', "cluster: combine replicas by 'mean' (model averaging), 'sum' (every worker's change lands) or 'rows-sum' (dense mean, embedding rows summed)", 'mean');
}

/** One worker: joins (or sets up) the job, trains until every shard is done, prints the job report. */
export async function runClusterTrain(flags: ClusterFlags, data: DataOptions, model: ModelOptions, given: (key: string) => boolean): Promise<void> {
  const url = required('--cluster', flags.cluster);
  const job = required('--job', flags.job);
  if (given('patience')) throw new UsageError('--patience: early stopping is not available with --cluster (each worker sees only its shards)');
  model = { ...model, patience: 0 };
  const [{ JobStore, checkJobName, parseClusterUrl }, { parseSyncEvery }, { ClusterWorker }, { formatReport }] = await Promise.all([
    import('../../cluster/nats.js'),
    import('../../cluster/job.js'),
    import('../../cluster/worker.js'),
    import('../../cluster/status.js'),
  ]);
  checkJobName(job);
  parseClusterUrl(url);
  const sync = parseSyncEvery(flags.syncEvery ?? '16384');
  const shardRows = parseIntOpt('--shard-rows', flags.shardRows ?? '16384', 1);
  const merge = parseChoice('--merge', flags.merge ?? 'mean', ['mean', 'sum', 'rows-sum'] as const);
  const ackWaitS = parseFloatOpt('--ack-wait', flags.ackWait ?? '10', 1);
  const store = await JobStore.open(url, job, { name: `bhembed-worker-${process.pid}` });
  // One bar per worker process, as `bhembed train` draws one per epoch: this worker's rows of its current shard,
  // samples/s and ETA, with the job's finished shards beside it; a line per finished shard.
  const progress = flags.quiet ? null : new Progress({ label: `cluster ${job}`, unit: 'samples' });
  let barShard = '';
  let jobShards = '';
  try {
    const worker: InstanceType<typeof ClusterWorker> = new ClusterWorker(store, {
      threads: model.threads,
      setup: { data, model, sync, merge, shardRows, ackWaitS, version: packageVersion() },
      log: (l) => (progress ? progress.log(`${worker.id}: ${l}`) : undefined),
      onRows: (p) => {
        if (progress === null) return;
        if (barShard !== p.shard.id) {
          progress.reset(`${worker.id} epoch ${p.shard.epoch + 1}/${p.epochs} shard ${p.shard.id}`, p.shard.rows);
          barShard = p.shard.id;
        }
        progress.update(p.done, jobShards);
      },
      onShard: (s) => {
        jobShards = `job ${s.done}/${s.total} shards`;
        if (progress === null) return;
        const loss = Number.isFinite(s.loss) ? `train loss ${s.loss.toFixed(4)}, ` : '';
        progress.log(
          `${worker.id}: shard ${s.shard.id} done: ${s.rows} rows, ${loss}${formatCount(s.rows / Math.max(1e-9, s.seconds))} samples/s, ` +
            `sync ${s.syncSeconds.toFixed(2)} s over ${s.syncs} rounds; ${jobShards} done`,
        );
        barShard = '';
      },
    });
    const report = await worker.run();
    progress?.done(`cluster ${job}: done`);
    if (flags.out !== undefined) {
      const last = report.versions[report.versions.length - 1];
      const bytes = await store.getBlob(last.object);
      const tmp = `${flags.out}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, flags.out);
    }
    if (flags.metrics !== undefined) writeJson(flags.metrics, report);
    const lines = formatReport(report);
    if (flags.out !== undefined) lines.push(`model file ${flags.out} (version ${report.versions[report.versions.length - 1].version})`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await store.close();
  }
}

interface StatusFlags {
  cluster: string;
  job: string;
  json?: boolean;
  watch?: boolean;
  interval: string;
}

interface ModelsFlags {
  cluster: string;
  job: string;
  modelDir: string;
  watch?: boolean;
  interval: string;
}

export function register(program: Command): void {
  const cluster = program.command('cluster').description('inspect a cluster training job on NATS JetStream, or copy its model versions to disk for serve');
  cluster
    .command('status')
    .description('shards done/pending/redelivered, workers alive, last sync, coordinator and model versions')
    .requiredOption('--cluster <url>', 'nats://HOST:4222')
    .requiredOption('--job <name>', 'cluster job name')
    .option('--json', 'print the status as JSON')
    .option('--watch', 'redraw the status (a bar per worker) until the job is done or failed')
    .option('--interval <seconds>', 'with --watch: seconds between redraws', '1')
    .action(async (flags: StatusFlags) => {
      const interval = parseFloatOpt('--interval', flags.interval, 0.1);
      const { JobStore } = await import('../../cluster/nats.js');
      const { clusterStatus, formatStatus } = await import('../../cluster/status.js');
      const store = await JobStore.open(flags.cluster, flags.job, { name: 'bhembed-status' });
      const tty = process.stdout.isTTY === true && !flags.json;
      let drawn = 0;
      try {
        for (;;) {
          const s = await clusterStatus(store);
          const text = flags.json ? JSON.stringify(s, null, 2) : formatStatus(s).join('\n');
          // On a terminal the block is redrawn in place (cursor up over the last one); elsewhere each is appended.
          if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[0J`);
          process.stdout.write(`${text}\n`);
          drawn = text.split('\n').length;
          if (!flags.watch || s.state === 'done' || s.state === 'failed') break;
          await new Promise((r) => setTimeout(r, interval * 1000));
        }
      } finally {
        await store.close();
      }
    });
  cluster
    .command('models')
    .description("copy the job's model versions from the object store to DIR as 1.bhm, 2.bhm, … (the numbered files serve watches)")
    .requiredOption('--cluster <url>', 'nats://HOST:4222')
    .requiredOption('--job <name>', 'cluster job name')
    .requiredOption('--model-dir <dir>', 'folder to write N.bhm into (created if missing)')
    .option('--watch', 'keep copying new versions until the job is done')
    .option('--interval <seconds>', 'with --watch: seconds between checks', '2')
    .action(async (flags: ModelsFlags) => {
      const interval = parseFloatOpt('--interval', flags.interval, 0.1);
      const { JobStore } = await import('../../cluster/nats.js');
      const store = await JobStore.open(flags.cluster, flags.job, { name: 'bhembed-models' });
      mkdirSync(flags.modelDir, { recursive: true });
      try {
        for (;;) {
          const have = new Set(readdirSync(flags.modelDir));
          const versions = (await store.getJson<{ version: number; object: string }[]>('versions'))?.value ?? [];
          for (const v of versions) {
            const name = `${v.version}.bhm`;
            if (have.has(name)) continue;
            const tmp = join(flags.modelDir, `.${name}.tmp-${process.pid}`);
            writeFileSync(tmp, await store.getBlob(v.object));
            renameSync(tmp, join(flags.modelDir, name)); // serve sees whole files only
            process.stdout.write(`${join(flags.modelDir, name)}\n`);
          }
          const state = (await store.getJson<{ state: string }>('state'))?.value.state;
          if (!flags.watch || state === 'done' || state === 'failed') break;
          await new Promise((r) => setTimeout(r, interval * 1000));
        }
      } finally {
        await store.close();
      }
    });
}
