// Faults on a 3-server JetStream cluster on loopback, with worker processes (`bhembed train --cluster`) killed
// by SIGKILL: a worker mid-shard (its shard is redone by the other worker), the coordinator (the other worker takes
// the lease over), one NATS server (the job goes on). Every job must end with a final model and a report showing
// every row trained at least once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClusterReport, Lease } from '../../src/cluster/coordinator.js';
import { JobStore } from '../../src/cluster/nats.js';
import { BIN, criteoLines } from '../e2e/cli-helpers.js';
import { natsServerMissing, startNatsCluster, type NatsCluster } from '../nats-harness.js';
import { tempDir } from '../temp-dir.js';

const missing = natsServerMissing();
let nats: NatsCluster | null = null;
let dir = '';
let train = '';
const procs: ChildProcess[] = [];

before(async () => {
  if (missing) return;
  nats = await startNatsCluster();
  dir = tempDir('bhembed-faults-');
  train = join(dir, 'train.txt');
  writeFileSync(train, `${criteoLines(12_000, 1).join('\n')}\n`);
});
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
  await nats?.stop();
});

interface Run {
  proc: ChildProcess;
  exit: Promise<{ code: number | null; out: string; err: string }>;
}

function worker(job: string): Run {
  const args = ['train', '--train', train, '--format', 'criteo', '--model', 'dnn', '--embedding', 'bh', '--compression', '4', '--dim', '4', '--mlp', '8', '--batch-size', '64', '--epochs', '1', '--threads', '1'];
  args.push('--cluster', (nats as NatsCluster).url, '--job', job, '--shard-rows', '3000', '--sync-every', '512', '--ack-wait', '2', '-q');
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BHEMBED_DEBUG: process.env.BHEMBED_DEBUG_WORKERS ?? '0' } });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, exit: new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out, err }))) };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function finish(store: JobStore, runs: Run[]): Promise<ClusterReport> {
  let report: ClusterReport;
  try {
    report = await until('the report', async () => (await store.getJson<ClusterReport>('report'))?.value, 60_000);
  } catch (e) {
    for (const r of runs) r.proc.kill('SIGKILL');
    const outs = await Promise.all(runs.map((r) => r.exit));
    throw new Error(`${(e as Error).message}; workers said: ${outs.map((o) => o.err.slice(-1500)).join('\n---\n')}`);
  }
  for (const r of runs) {
    if (r.proc.signalCode !== null) continue;
    const e = await r.exit;
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, /every row trained at least once: yes/);
  }
  assert.equal(report.everyRowTrained, true);
  assert.equal(report.rowsTrained, 12_000);
  assert.equal(report.shardsDone, 4);
  assert.ok(report.versions.some((v) => v.final));
  return report;
}

const pidOf = (workerId: string): number => Number(/-(\d+)$/.exec(workerId)?.[1]);

test('kill -9 of a worker mid-shard: its shard is redone by the other, the report counts rows trained twice', { skip: missing ?? false }, async () => {
  const store = await JobStore.open((nats as NatsCluster).url, 'killworker');
  try {
    const runs = [worker('killworker'), worker('killworker')];
    // A progress record is written after a sync inside a shard: its worker is mid-shard (3008 rows, syncs every 512).
    const victim = await until('a shard in progress', async () => {
      for (const k of await store.keys('prog.>')) {
        const p = (await store.getJson<{ worker: string }>(k))?.value;
        const id = /^prog\.(.+)\.\d+$/.exec(k)?.[1];
        if (p && id && (await store.getJson(`done.${id}`)) === null) return { pid: pidOf(p.worker), shard: id };
      }
      return null;
    });
    const run = runs.find((r) => r.proc.pid === victim.pid) as Run;
    process.kill(victim.pid, 'SIGKILL');
    await run.exit;
    const report = await finish(store, runs.filter((r) => r !== run));
    assert.ok(report.redelivered.some((r) => r.shard === victim.shard), JSON.stringify(report.redelivered));
    assert.ok(report.rowsTrainedTwice >= 512 && report.rowsTrainedTwice < 3000, `rows trained twice: ${report.rowsTrainedTwice}`);
  } finally {
    await store.close();
  }
});

test('kill -9 of the coordinator: the other worker takes the lease over within seconds and finishes the job', { skip: missing ?? false }, async () => {
  const store = await JobStore.open((nats as NatsCluster).url, 'killcoord');
  try {
    const runs = [worker('killcoord'), worker('killcoord')];
    await until('the job to run', async () => (await store.getJson<{ state: string }>('state'))?.value.state === 'running' && (await store.keys('prog.>')).length > 0);
    const lease = (await store.getJson<Lease>('lease'))?.value as Lease;
    const run = runs.find((r) => r.proc.pid === pidOf(lease.holder)) as Run;
    process.kill(pidOf(lease.holder), 'SIGKILL');
    const t0 = Date.now();
    await run.exit;
    const next = await until('a new coordinator', async () => {
      const l = (await store.getJson<Lease>('lease'))?.value;
      return l && l.holder !== lease.holder ? l : null;
    });
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 10, `takeover after ${seconds} s`);
    assert.equal(next.takeovers, 1);
    const report = await finish(store, runs.filter((r) => r !== run));
    assert.equal(report.coordinatorTakeovers, 1);
  } finally {
    await store.close();
  }
});

// The server to lose is the leader of the job's KV stream (lease, rounds, shard records: every step reads it), so
// the job has to wait out an election and move its connections. Reads list keys and fetch objects without
// creating consumers (src/cluster/nats.ts): on nats-server 2.9 new ephemeral consumers were still placed on the
// dead server and timed out for minutes.
test('kill -9 of one NATS server of three: the job goes on and finishes', { skip: missing ?? false }, async () => {
  const cluster = nats as NatsCluster;
  const store = await JobStore.open(cluster.url, 'killnats');
  try {
    const runs = [worker('killnats'), worker('killnats')];
    await until('the job to run', async () => (await store.keys('prog.>')).length > 0);
    const leader = (await store.jsm.streams.info(`KV_${store.names.kv}`)).cluster?.leader ?? '';
    const victim = cluster.nodes[Number(/^n(\d)$/.exec(leader)?.[1])];
    assert.ok(victim, `KV stream leader '${leader}'`);
    const roundBefore = (await store.getJson<{ closedRounds: number }>('round'))?.value.closedRounds ?? 0;
    victim.kill();
    const killedAt = Date.now();
    const report = await finish(store, runs);
    assert.ok(Date.parse(report.finishedAt) > killedAt);
    assert.ok(report.rounds > roundBefore, `rounds ${report.rounds}, ${roundBefore} before the kill`);
  } finally {
    await store.close();
  }
});
