// One cluster worker (`bhembed train --cluster URL --job NAME`): takes shards from the work queue, trains them on
// its local threads (Trainer.fit on each run of rows), and at every --sync-every and every shard's end submits
// its replica and waits for the round's average. A shard is acked only after the round holding its last rows has
// closed, so a worker killed at any point loses nothing: its shard is redelivered (ack wait) and trained again.
// Every worker also competes for the coordinator lease (coordinator.ts) and runs that role while it holds it.
//
//   round r:  worker w:  sub.r.w (one KV value; over max_payload: a header naming blob sub/r/w)
//             ->  coordinator: params.(r+1)-id (KV value; over max_payload: blob params/(r+1)-id), round = r+1 (with closed r)
//             worker w:  sees round > r; in closed.r's contributors? adopt params.(r+1) : resubmit in round r+1

import { hostname } from 'node:os';
import { ConfigError } from '../core/errors.js';
import type { ModelConfig } from '../models/config.js';
import type { NamedParam } from '../nn/params.js';
import type { Trainer } from '../train/trainer.js';
import { decodeParams, diffParams, encodeSubmission, sliceColumns } from './codec.js';
import { Coordinator, type ClusterReport } from './coordinator.js';
import type { JobSpec, SetupOptions, ShardRef } from './job.js';
import { makeTrainer, shardBlob, shardColumns } from './job.js';
import { HEARTBEAT_TTL_S, JobStore, type JsMsg, type Wake } from './nats.js';

export interface RoundRecord {
  r: number;
  /** Object holding the round's base parameters; null = the model's seeded initial weights. */
  params: string | null;
  at: number;
  closedRounds: number;
  /** The round this record closed (r - 1). */
  closed?: ClosedRecord;
  /** Parameter snapshots still kept (oldest first). */
  kept?: string[];
}

export interface ClosedRecord {
  r: number;
  contributors: string[];
  rows: number;
  rowsChanged: number;
  bytes: number;
  seconds: number;
  at: number;
  /** When the round's last submission arrived (its sub.<r>.<worker> record's time). */
  lastSubAt?: number;
  /** Milliseconds of the close: noticing the last submission, reading the submissions, merging, writing the base. */
  phases?: { detect: number; read: number; merge: number; write: number };
}

/**
 * Where a worker's sync seconds go (totals): diff and encode its replica, upload it, wait for the other workers'
 * submissions (barrier: until the round's last one arrived), wait for the close after that (the coordinator's
 * work and both polling delays), load the new base (adopt), and record progress (book).
 */
export interface SyncParts {
  encode: number;
  upload: number;
  barrier: number;
  close: number;
  adopt: number;
  book: number;
}

export interface WorkerStats {
  worker: string;
  host: string;
  pid: number;
  rows: number;
  shards: number;
  trainSeconds: number;
  syncSeconds: number;
  syncs: number;
  bytesUp: number;
  syncParts?: SyncParts;
  at: number;
}

export interface WorkerOptions {
  /** Local training threads. @default 1 */
  threads: number;
  /** Plan used when this worker is the one that sets the job up. */
  setup: SetupOptions;
  /** Rows per Trainer.fit call between checks (bounded so heartbeats and the lease keep running). */
  maxChunkRows?: number;
  log?: (line: string) => void;
  /** Called after each shard (done: the job's finished shards of `total`). */
  onShard?: (s: { shard: ShardRef; rows: number; done: number; total: number; loss: number; seconds: number; syncSeconds: number; syncs: number }) => void;
  /** Called after each run of rows inside a shard (for the progress bar): rows of the shard done so far. */
  onRows?: (p: { shard: ShardRef; epochs: number; done: number }) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How often a worker waiting for its round to close looks at the round record; the close's hint wakes it at once. */
const ROUND_POLL_MS = 50;

export function workerId(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Copies of every tensor (the round's base: rows that differ from it are the worker's changes). */
function copyParams(ps: readonly NamedParam[]): Float32Array[] {
  return ps.map((p) => new Float32Array(p.data));
}

export class ClusterWorker {
  readonly id = workerId();
  private readonly coordinator: Coordinator;
  private stats: WorkerStats;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private trainer: Trainer | null = null;
  private base: Float32Array[] = [];
  private baseKey: string | null | undefined = undefined;
  private pendingRows = 0;
  private pendingShards: Record<string, number> = {};
  private currentShard: string | null = null;
  /** Rows of the current shard trained so far, and its size (in heartbeats: `cluster status` draws a bar). */
  private shardDone = 0;
  private shardRows = 0;
  private attempts: Record<string, number> = {};
  /** Hints of closed rounds (a poll every ROUND_POLL_MS covers a lost one). */
  private roundHints: Wake | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly opts: WorkerOptions,
  ) {
    this.stats = { worker: this.id, host: hostname(), pid: process.pid, rows: 0, shards: 0, trainSeconds: 0, syncSeconds: 0, syncs: 0, bytesUp: 0, syncParts: { encode: 0, upload: 0, barrier: 0, close: 0, adopt: 0, book: 0 }, at: Date.now() };
    this.coordinator = new Coordinator(store, this.id, opts.setup, (l) => this.log(l));
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Runs until the job is done; returns the final report. */
  async run(): Promise<ClusterReport> {
    const hbEvery = Math.max(200, (HEARTBEAT_TTL_S * 1000) / 4);
    const beat = (): void => {
      if (this.stopping) return;
      void this.store.putOnce(`w.${this.id}`, { ...this.stats, shard: this.currentShard, shardDone: this.shardDone, shardRows: this.shardRows, at: Date.now() }).catch(() => undefined);
    };
    this.timers.push(setInterval(beat, hbEvery));
    this.roundHints = this.store.wakeOn('round');
    this.coordinator.start();
    try {
      const { spec, config } = await this.waitForJob();
      if (spec === null) return await this.coordinator.waitReport();
      const { trainer } = await makeTrainer(config as ModelConfig, spec, this.opts.threads);
      this.trainer = trainer;
      beat(); // alive (and counted in rounds) only once it can train
      await this.loop(spec);
      return await this.coordinator.waitReport();
    } finally {
      this.stopping = true;
      for (const t of this.timers) clearInterval(t);
      this.roundHints?.close();
      await this.coordinator.stop();
      await this.store.deleteKey(`w.${this.id}`).catch(() => undefined);
      await this.trainer?.dispose();
    }
  }

  private async waitForJob(): Promise<{ spec: JobSpec | null; config: ModelConfig | null }> {
    for (;;) {
      const state = await this.store.getJson<{ state: string; message?: string }>('state');
      if (state?.value.state === 'done') return { spec: null, config: null };
      if (state?.value.state === 'failed') throw new ConfigError(`cluster job ${this.store.job}: setup failed: ${state.value.message ?? 'unknown error'}`);
      if (state?.value.state === 'running') {
        const spec = (await this.store.getJson<JobSpec>('spec'))?.value as JobSpec;
        const config = JSON.parse(new TextDecoder().decode(await this.store.getBlob('config.json'))) as ModelConfig;
        return { spec, config };
      }
      await this.coordinator.failure();
      await sleep(100);
    }
  }

  private get params(): NamedParam[] {
    return (this.trainer as Trainer).model.parameters();
  }

  /** Load the round's base parameters when they differ from the ones this replica started from. */
  private async adopt(round: RoundRecord): Promise<void> {
    if (this.baseKey === round.params && this.base.length > 0) return;
    const ps = this.params;
    if (round.params !== null) {
      const arrays = decodeParams(await this.store.getSnapshot(round.params), ps);
      ps.forEach((p, i) => p.data.set(arrays[i]));
    }
    this.base = copyParams(ps);
    this.baseKey = round.params;
  }

  private async round(): Promise<RoundRecord> {
    for (;;) {
      const r = await this.store.getJson<RoundRecord>('round');
      if (r !== null) return r.value;
      await sleep(50);
    }
  }

  private async jobDone(): Promise<boolean> {
    return (await this.store.getJson<{ state: string }>('state'))?.value.state === 'done';
  }

  private async loop(spec: JobSpec): Promise<void> {
    let consumer = await this.store.consumer(spec.ackWaitS);
    const total = spec.shards.length;
    for (;;) {
      await this.coordinator.failure();
      if (await this.jobDone()) return;
      let msg: JsMsg | null = null;
      try {
        msg = await Promise.race([consumer.next({ expires: 1000 }), sleep(5000).then(() => Promise.reject(new Error('next timeout')))]);
      } catch {
        // A server went away: the client reconnects; ask again through a fresh consumer handle. (A shard handed out
        // to the lost call is redelivered after the ack wait.)
        await sleep(200);
        consumer = await this.store.consumer(spec.ackWaitS);
        continue;
      }
      if (msg === null) {
        await this.idleSubmit();
        continue;
      }
      const shard = msg.json<ShardRef>();
      if ((await this.store.getJson(`done.${shard.id}`)) !== null) {
        msg.ack();
        continue;
      }
      const attempt = msg.info.deliveryCount;
      this.attempts[shard.id] = attempt;
      if (attempt > 1) {
        await this.store.putJson(`redelivered.${shard.id}`, { attempts: attempt, worker: this.id, at: Date.now() });
        this.log(`shard ${shard.id}: redelivered (attempt ${attempt})`);
      }
      const m = msg;
      const keep = setInterval(() => m.working(), Math.max(250, (spec.ackWaitS * 1000) / 4));
      const before = { t: performance.now(), sync: this.stats.syncSeconds, syncs: this.stats.syncs };
      let loss = NaN;
      try {
        loss = await this.trainShard(spec, shard);
        await this.store.putJson(`done.${shard.id}`, { worker: this.id, rows: shard.rows, attempt, at: Date.now() });
        m.ack();
      } finally {
        clearInterval(keep);
        this.currentShard = null;
        this.shardDone = 0;
        this.shardRows = 0;
      }
      this.stats.shards++;
      const done = (await this.store.keys('done.>')).length;
      const seconds = (performance.now() - before.t) / 1000;
      this.opts.onShard?.({ shard, rows: shard.rows, done, total, loss, seconds, syncSeconds: this.stats.syncSeconds - before.sync, syncs: this.stats.syncs - before.syncs });
    }
  }

  /** Trains one shard; returns its mean training loss. */
  private async trainShard(spec: JobSpec, shard: ShardRef): Promise<number> {
    const trainer = this.trainer as Trainer;
    this.currentShard = shard.id;
    this.shardDone = 0;
    this.shardRows = shard.rows;
    let lossSum = 0;
    await this.adopt(await this.round());
    const ds = shardColumns(await this.store.getBlob(shardBlob(shard)), shard);
    const B = spec.batchSize;
    const maxChunk = Math.max(B, Math.floor((this.opts.maxChunkRows ?? 8 * B) / B) * B);
    const sync = spec.sync;
    let sinceSync = 0;
    let syncT0 = performance.now();
    for (let a = 0; a < ds.rows; ) {
      let chunk = Math.min(ds.rows - a, maxChunk);
      if ('rows' in sync) chunk = Math.min(chunk, Math.max(B, Math.ceil((sync.rows - sinceSync) / B) * B));
      const t0 = performance.now();
      lossSum += (await trainer.fit(sliceColumns(ds, a, a + chunk))).trainLoss * chunk;
      this.stats.trainSeconds += (performance.now() - t0) / 1000;
      this.stats.rows += chunk;
      a += chunk;
      this.shardDone = a;
      this.opts.onRows?.({ shard, epochs: spec.epochs, done: a });
      sinceSync += chunk;
      this.pendingRows += chunk;
      this.pendingShards[shard.id] = (this.pendingShards[shard.id] ?? 0) + chunk;
      const due = 'rows' in sync ? sinceSync >= sync.rows : (performance.now() - syncT0) / 1000 >= sync.seconds;
      if (due && a < ds.rows) {
        await this.sync();
        sinceSync = 0;
        syncT0 = performance.now();
      }
      await new Promise((r) => setImmediate(r)); // let heartbeats, keepalives and the lease run
      await this.coordinator.failure();
    }
    await this.sync();
    return lossSum / Math.max(1, ds.rows);
  }

  /** Submit this replica for the open round; wait until a closed round includes it; adopt the average. */
  private async sync(): Promise<void> {
    if (this.pendingRows === 0) return;
    const t0 = performance.now();
    const parts = this.stats.syncParts as SyncParts;
    const content = { worker: this.id, base: this.baseKey ?? null, rows: this.pendingRows, shards: this.pendingShards, tensors: diffParams(this.params, this.base) };
    let t = performance.now();
    parts.encode += (t - t0) / 1000;
    for (;;) {
      const round = await this.round();
      const r = round.r;
      // One KV value (one round trip; the coordinator reads it in one), or, over a message's size, an object-store
      // blob named by a small header in that value.
      const submittedAt = Date.now();
      const e0 = performance.now();
      let value = encodeSubmission({ ...content, at: submittedAt });
      const bytes = value.length;
      const e1 = performance.now();
      parts.encode += (e1 - e0) / 1000;
      parts.upload += (e0 - t) / 1000;
      t = e1;
      if (value.length > this.store.maxValueBytes) {
        const blob = `sub/${r}/${this.id}`;
        await this.store.putBlob(blob, value);
        value = encodeSubmission({ ...content, tensors: null, at: submittedAt, blob });
      }
      await this.store.putBytes(`sub.${r}.${this.id}`, value);
      this.store.notify('sub');
      this.stats.bytesUp += bytes;
      const up = performance.now();
      parts.upload += (up - t) / 1000;
      let next: RoundRecord;
      for (;;) {
        await this.coordinator.failure();
        next = await this.round();
        if (next.r > r) break;
        await (this.roundHints as Wake).wait(ROUND_POLL_MS);
      }
      let closed: ClosedRecord | null = next.closed?.r === r ? next.closed : null;
      while (closed === null) {
        closed = (await this.store.getJson<ClosedRecord>(`closed.${r}`))?.value ?? null;
        if (closed === null) await sleep(20); // written right after the round record (or by the next coordinator)
      }
      t = performance.now();
      // Waiting for the others' submissions vs. for the close after the last one (wall clocks: one machine here).
      const barrier = Math.min((t - up) / 1000, Math.max(0, ((closed.lastSubAt ?? submittedAt) - submittedAt) / 1000));
      parts.barrier += barrier;
      parts.close += (t - up) / 1000 - barrier;
      if (closed.contributors.includes(this.id)) {
        // The average of round r is the base of round r + 1 (rounds closed since then hold no rows of ours).
        await this.adopt(next);
        const a = performance.now();
        parts.adopt += (a - t) / 1000;
        t = a;
        break;
      }
    }
    for (const [id, rows] of Object.entries(this.pendingShards)) {
      const key = `prog.${id}.${this.attempts[id] ?? 1}`;
      const prev = (await this.store.getJson<{ rows: number }>(key))?.value.rows ?? 0;
      await this.store.putJson(key, { rows: prev + rows, worker: this.id });
    }
    this.pendingRows = 0;
    this.pendingShards = {};
    this.stats.syncs++;
    const end = performance.now();
    parts.book += (end - t) / 1000;
    this.stats.syncSeconds += (end - t0) / 1000;
    await this.store.putJson(`stats.${this.id}`, { ...this.stats, at: Date.now() });
  }

  /** No shard to take: tell the open round this worker has nothing to add, so it need not wait for us. */
  private async idleSubmit(): Promise<void> {
    const round = await this.round();
    if ((await this.store.getBytes(`sub.${round.r}.${this.id}`)) !== null) return;
    await this.store.putBytes(`sub.${round.r}.${this.id}`, encodeSubmission({ worker: this.id, base: null, rows: 0, shards: {}, tensors: null, at: Date.now() }));
    this.store.notify('sub');
  }
}
