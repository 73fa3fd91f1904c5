// The coordinator role of a cluster job, held through a KV lease renewed by compare-and-set: whoever holds it
// sets the job up (once), closes averaging rounds, publishes model versions (one per finished epoch, then the
// final one) and writes the report. Every worker runs this; only the lease holder acts, and when it dies the
// lease runs out (LEASE_TTL_S) and another worker's compare-and-set takes it over. Each step is idempotent
// (state lives in JetStream, not in the holder), so a takeover redoes at most the step in progress.
//
// Clocks: the lease compares wall-clock times of different machines (keep them NTP-synced; skew adds to the
// takeover time).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from '../models/config.js';
import { calibrateOnDataset, saveModel } from '../train/checkpoint.js';
import type { Columns } from '../data/batches/columns.js';
import type { Trainer } from '../train/trainer.js';
import { averageInto } from './average.js';
import { decodeParams, decodeShard, decodeSubmission, encodeParams, type Submission } from './codec.js';
import { makeTrainer, setupJob, shardBlob, shardColumns, versionMeta, type JobSpec, type SetupOptions } from './job.js';
import { LEASE_TTL_S, type JobStore, type Wake } from './nats.js';
import type { ClosedRecord, RoundRecord, WorkerStats } from './worker.js';

export interface Lease {
  holder: string;
  until: number;
  since: number;
  takeovers: number;
}

export interface ModelVersion {
  version: number;
  object: string;
  round: number;
  epochsDone: number;
  final: boolean;
  bytes: number;
  at: string;
}

export interface ClusterReport {
  job: string;
  rowsPerEpoch: number;
  epochs: number;
  shards: number;
  shardsDone: number;
  /** Shards delivered more than once (their worker died or stalled past the ack wait). */
  redelivered: { shard: string; attempts: number }[];
  /** Rows whose updates reached the model from an attempt that did not finish (its shard was then redone). */
  rowsTrainedTwice: number;
  /** Rows of finished shards, all epochs. */
  rowsTrained: number;
  /** Every row of every epoch is in a finished shard. */
  everyRowTrained: boolean;
  rounds: number;
  /** Mean milliseconds per closed round with submissions: the coordinator's close (ClosedRecord.phases). */
  roundPhasesMs?: { detect: number; read: number; merge: number; write: number };
  coordinatorTakeovers: number;
  workers: (WorkerStats & { rowsPerSec: number })[];
  versions: ModelVersion[];
  valid?: { auc: number; logloss: number; rows: number };
  test?: { auc: number; logloss: number; rows: number };
  seconds: number;
  finishedAt: string;
}

/** Parameter snapshots kept (a worker's submission may be relative to one this many rounds old). */
const KEEP_PARAMS = 32;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The lease holder's poll interval; a submission's hint wakes it at once. */
const POLL_MS = 50;

export class Coordinator {
  private lease: { revision: number; value: Lease } | null = null;
  private leaseCall: Promise<boolean> | null = null;
  private running = false;
  private loopDone: Promise<void> | null = null;
  private error: unknown = null;
  private spec: JobSpec | null = null;
  private config: ModelConfig | null = null;
  private trainData: Columns | null = null;
  private global: Float32Array[] | null = null;
  private globalKey: string | null | undefined = undefined;
  private evalTrainer: Trainer | null = null;
  /** The seeded initial weights (every worker's first base). */
  private init: Float32Array[] | null = null;
  private engine: { ops: string; gemm: string } | null = null;
  private startedAt = Date.now();
  /** Hints of new submissions (a poll every POLL_MS covers a lost one). */
  private subHints: Wake | null = null;
  /** done.<shard> keys seen at the last version check (-1: not checked since taking the lease). */
  private doneSeen = -1;

  constructor(
    private readonly store: JobStore,
    private readonly id: string,
    private readonly setup: SetupOptions,
    private readonly log: (line: string) => void,
  ) {}

  get isLeader(): boolean {
    return this.lease !== null && this.lease.value.until > Date.now();
  }

  start(): void {
    this.running = true;
    this.subHints = this.store.wakeOn('sub');
    this.loopDone = this.loop();
  }

  /** Throws the coordinator role's error (setup failed: bad data or flags) in the worker's loop. */
  async failure(): Promise<void> {
    if (this.error !== null) throw this.error;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.subHints?.close();
    await this.loopDone;
    // Hand the lease on at once instead of letting it run out.
    if (this.lease !== null) await this.store.casJson('lease', { ...this.lease.value, until: 0 }, this.lease.revision).catch(() => null);
    await this.evalTrainer?.dispose();
  }

  async waitReport(): Promise<ClusterReport> {
    for (;;) {
      await this.failure();
      const r = await this.store.getJson<ClusterReport>('report');
      if (r !== null) return r.value;
      await sleep(100);
    }
  }

  private async loop(): Promise<void> {
    // A step can outlast the lease (setup reads and uploads the data; the final version scores the test set): the
    // holder renews on a timer meanwhile, or on a loaded machine the others take the lease over again and again
    // and each starts the setup afresh (seen: 122 takeovers in 15 minutes, no shard ever published).
    const renew = setInterval(() => {
      if (this.lease !== null) void this.holdLease().catch(() => undefined);
    }, (LEASE_TTL_S * 1000) / 6);
    try {
      await this.steps();
    } finally {
      clearInterval(renew);
    }
  }

  private async steps(): Promise<void> {
    while (this.running) {
      try {
        if (await this.holdLease()) await this.step();
      } catch (e) {
        if (this.isLeader) {
          this.error = e;
          // Workers waiting for the job see why it will not start (bad data or flags), not an endless wait.
          const state = await this.store.getJson<{ state: string }>('state').catch(() => null);
          if (state === null) await this.store.putJson('state', { state: 'failed', message: (e as Error).message, at: Date.now() }).catch(() => undefined);
          return;
        }
      }
      if (this.isLeader && this.subHints !== null) await this.subHints.wait(POLL_MS);
      else await sleep(500);
    }
  }

  /** Take, renew or keep out of the lease; true while this worker holds it. One at a time (the loop and the timer). */
  private holdLease(): Promise<boolean> {
    this.leaseCall ??= this.leaseStep().finally(() => (this.leaseCall = null));
    return this.leaseCall;
  }

  private async leaseStep(): Promise<boolean> {
    const now = Date.now();
    if (this.lease !== null && now < this.lease.value.until - (LEASE_TTL_S * 1000) / 2) return true;
    const cur = await this.store.getJson<Lease>('lease');
    const until = now + LEASE_TTL_S * 1000;
    if (cur === null) {
      const value: Lease = { holder: this.id, until, since: now, takeovers: 0 };
      const rev = await this.store.casJson('lease', value, 0);
      this.lease = rev === null ? null : { revision: rev, value };
      if (rev !== null) this.log(`coordinator: ${this.id}`);
    } else if (cur.value.holder === this.id || cur.value.until < now) {
      const takeover = cur.value.holder !== this.id;
      const value: Lease = takeover ? { holder: this.id, until, since: now, takeovers: cur.value.takeovers + 1 } : { ...cur.value, until };
      const rev = await this.store.casJson('lease', value, cur.revision);
      this.lease = rev === null ? null : { revision: rev, value };
      if (rev !== null && takeover) {
        this.log(`coordinator: ${this.id} took over from ${cur.value.holder}`);
        this.globalKey = undefined; // state comes from JetStream, not from memory
        this.doneSeen = -1;
      }
    } else this.lease = null;
    return this.lease !== null;
  }

  private async step(): Promise<void> {
    const state = await this.store.getJson<{ state: string }>('state');
    if (state?.value.state === 'done') return;
    if (state === null) {
      this.log('coordinator: setting the job up');
      const { spec, config, data } = await setupJob(this.store, this.setup, () => this.isLeader);
      this.spec = spec;
      this.config = config;
      this.trainData = data.train.columns;
      const round: RoundRecord = { r: 0, params: null, at: Date.now(), closedRounds: 0 };
      await this.store.putJson('round', round);
      await this.store.putJson('versions', []);
      await this.store.putJson('state', { state: 'running', at: Date.now(), startedAt: this.startedAt });
      this.log(`coordinator: ${spec.shards.length} shards of up to ${spec.shardRows} rows, ${spec.rows} rows x ${spec.epochs} epochs`);
      return;
    }
    if (this.spec === null) {
      // The state is written after the spec, but a server that lags after a failover may not have the spec yet:
      // try again on the next step rather than build a model without one.
      const spec = (await this.store.getJson<JobSpec>('spec'))?.value ?? null;
      if (spec === null) return;
      this.spec = spec;
      this.config = JSON.parse(new TextDecoder().decode(await this.store.getBlob('config.json'))) as ModelConfig;
      const s = (state.value as { startedAt?: number }).startedAt;
      if (s !== undefined) this.startedAt = s;
    }
    await this.closeRound();
    await this.publishVersions();
  }

  private async model(): Promise<Trainer> {
    if (this.evalTrainer === null) {
      const { trainer, gemm } = await makeTrainer(this.config as ModelConfig, this.spec as JobSpec, 1);
      this.evalTrainer = trainer;
      this.init = trainer.model.parameters().map((p) => new Float32Array(p.data));
      this.engine = { ops: trainer.ops.name, gemm };
    }
    return this.evalTrainer;
  }

  /** The tensors of the open round's base, in memory (loaded after a takeover). */
  private async globalOf(round: RoundRecord): Promise<Float32Array[]> {
    if (this.global !== null && this.globalKey === round.params) return this.global;
    const t = await this.model();
    const ps = t.model.parameters();
    // null: the seeded initial weights, which every worker's model starts from (the eval model has not trained).
    this.global = round.params === null ? (this.init as Float32Array[]).map((a) => new Float32Array(a)) : decodeParams(await this.store.getSnapshot(round.params), ps);
    this.globalKey = round.params;
    return this.global;
  }

  /** Close the open round once every live worker has submitted to it. */
  private async closeRound(): Promise<void> {
    const cur = await this.store.getJson<RoundRecord>('round');
    if (cur === null) return;
    const round = cur.value;
    // A coordinator that died between the round's compare-and-set and closed.<r>: write it from the round record.
    if (round.closed && (await this.store.getJson(`closed.${round.closed.r}`)) === null) await this.store.putJson(`closed.${round.closed.r}`, round.closed);
    // The open round's submission keys are only purged once it closes: listing them needs no read per key.
    const subKeys = await this.store.subjects(`sub.${round.r}.*`);
    if (subKeys.length === 0) return;
    const submitted = new Set(subKeys.map((k) => k.slice(`sub.${round.r}.`.length)));
    const live = [...(await this.store.liveWorkers()).keys()];
    if (live.some((w) => !submitted.has(w))) return;
    const t0 = performance.now();
    const detectedAt = Date.now();
    const global = await this.globalOf(round);
    const subs: Submission[] = [];
    let bytes = 0;
    let lastSubAt = 0;
    // Every worker's submission at once (one round trip's latency, not N); merged in a fixed (sorted) order.
    const read = await Promise.all(
      [...submitted].sort().map(async (w) => {
        const raw = await this.store.getBytes(`sub.${round.r}.${w}`);
        if (raw === null) return null;
        const head = decodeSubmission(raw);
        if (head.rows === 0 || head.blob === undefined) return { head, sub: head, bytes: raw.length };
        const whole = await this.store.getBlob(head.blob);
        return { head, sub: decodeSubmission(whole), bytes: whole.length };
      }),
    );
    const blobs: string[] = [];
    for (const got of read) {
      if (got === null) continue;
      lastSubAt = Math.max(lastSubAt, got.head.at ?? 0);
      if (got.head.blob !== undefined) blobs.push(got.head.blob);
      if (got.head.rows === 0) continue;
      subs.push(got.sub);
      bytes += got.bytes;
    }
    const tRead = performance.now();
    this.globalKey = undefined; // averaged in place: stale until the round record says otherwise
    const bases = new Map<string | null, Float32Array[]>();
    const baseOf = (sub: Submission): Float32Array[] => (sub.base === round.params ? global : (bases.get(sub.base) as Float32Array[]));
    for (const sub of subs) {
      if (sub.base === round.params || bases.has(sub.base)) continue;
      const ps = (await this.model()).model.parameters();
      bases.set(sub.base, sub.base === null ? (this.init as Float32Array[]) : decodeParams(await this.store.getSnapshot(sub.base), ps));
    }
    const tBases = performance.now();
    const stats = averageInto(global, subs, (this.spec as JobSpec).merge, baseOf);
    const tMerge = performance.now();
    let params = round.params;
    if (stats.contributors > 0) {
      // A name of its own: a coordinator that lost the lease mid-round cannot overwrite the winner's snapshot.
      const ps = (await this.model()).model.parameters();
      params = await this.store.putSnapshot(`${round.r + 1}-${this.id}`, encodeParams(ps.map((p, i) => ({ ...p, data: global[i] }))));
    }
    const rows = subs.reduce((a, s) => a + s.rows, 0);
    const tWrite = performance.now();
    const phases = { detect: Math.max(0, detectedAt - lastSubAt), read: tRead - t0 + (tBases - tRead), merge: tMerge - tBases, write: tWrite - tMerge };
    const closed: ClosedRecord = { r: round.r, contributors: [...submitted], rows, rowsChanged: stats.rowsChanged, bytes, seconds: (tWrite - t0) / 1000, at: Date.now(), lastSubAt, phases };
    const kept = [...(round.kept ?? []), ...(params !== null && params !== round.params ? [params] : [])];
    const drop = kept.length > KEEP_PARAMS ? kept.splice(0, kept.length - KEEP_PARAMS) : [];
    const next: RoundRecord = { r: round.r + 1, params, at: Date.now(), closedRounds: round.closedRounds + (stats.contributors > 0 ? 1 : 0), closed, kept };
    const won = this.isLeader && ((await this.store.casJson('round', next, cur.revision)) !== null || (await this.wroteRound(next)));
    if (!won) {
      if (params !== round.params && params !== null) await this.store.deleteSnapshot(params);
      return;
    }
    this.store.notify('round');
    // The round record is the truth (written atomically); closed.<r> serves workers that saw a later round first.
    await this.store.putJson(`closed.${round.r}`, closed);
    this.globalKey = params;
    if (stats.contributors > 0) await this.store.putJson('lastSync', { round: round.r, workers: stats.contributors, rows, bytes, rowsChanged: stats.rowsChanged, seconds: closed.seconds, at: Date.now() });
    await Promise.all([...[...submitted].map((w) => this.store.deleteKey(`sub.${round.r}.${w}`)), ...blobs.map((b) => this.store.deleteBlob(b))]);
    // Bases of workers that missed a few rounds stay available for a while.
    await Promise.all(drop.map((d) => this.store.deleteSnapshot(d)));
  }

  /**
   * A compare-and-set whose answer was lost (a server died after it wrote) is retried and then refused: the round
   * record itself says whether this coordinator's write landed (its params name is its own).
   */
  private async wroteRound(next: RoundRecord): Promise<boolean> {
    const now = (await this.store.getJson<RoundRecord>('round'))?.value;
    return now !== undefined && now.r === next.r && now.at === next.at && now.params === next.params;
  }

  /** A model version after each finished epoch and, when every shard is done, the final one and the report. */
  private async publishVersions(): Promise<void> {
    const spec = this.spec as JobSpec;
    // done.<shard> keys are never purged: their count says whether anything changed since the last look.
    const doneKeys = await this.store.subjects('done.>');
    if (doneKeys.length === this.doneSeen) return;
    const done = new Set(doneKeys.map((k) => k.slice(5)));
    const versions = (await this.store.getJson<ModelVersion[]>('versions'))?.value ?? [];
    let epochsDone = 0;
    for (let e = 0; e < spec.epochs; e++) {
      if (spec.shards.every((s) => s.epoch !== e || done.has(s.id))) epochsDone = e + 1;
      else break;
    }
    const last = versions.length > 0 ? versions[versions.length - 1].epochsDone : 0;
    if (epochsDone <= last) {
      this.doneSeen = doneKeys.length;
      return;
    }
    const final = epochsDone === spec.epochs;
    const cur = (await this.store.getJson<RoundRecord>('round'))?.value as RoundRecord;
    // Final: every done shard's rows are in a closed round (workers mark done after their sync), so the open
    // round's base holds them all.
    const trainer = await this.model();
    const global = await this.globalOf(cur);
    trainer.model.parameters().forEach((p, i) => p.data.set(global[i]));
    let report: ClusterReport | null = null;
    const metrics: Record<string, unknown> = {};
    if (final) {
      report = await this.report(trainer, done);
      if (report.valid) metrics.valid = report.valid;
      if (report.test) metrics.test = report.test;
      metrics.cluster = { rowsTrainedTwice: report.rowsTrainedTwice, redelivered: report.redelivered.length, rounds: report.rounds };
    }
    await calibrateOnDataset(trainer.model, await this.calibrationRows());
    const dir = mkdtempSync(join(tmpdir(), 'bhembed-cluster-'));
    let bytes: Uint8Array;
    try {
      const path = join(dir, 'model.bhm');
      saveModel(path, trainer.model, versionMeta(spec, this.engine as { ops: string; gemm: string }, metrics));
      bytes = readFileSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const version = versions.length + 1;
    const object = `model/${version}.bhm`;
    await this.store.putBlob(object, bytes);
    const v: ModelVersion = { version, object, round: cur.r, epochsDone, final, bytes: bytes.length, at: new Date().toISOString() };
    versions.push(v);
    await this.store.putJson('versions', versions);
    this.log(`coordinator: model version ${version} (${epochsDone}/${spec.epochs} epochs${final ? ', final' : ''})`);
    if (report !== null) {
      report.versions = versions;
      await this.store.putJson('report', report);
      await this.store.putJson('state', { state: 'done', at: Date.now(), startedAt: this.startedAt });
    }
  }

  /** Training rows for the int8-static calibration: the loaded set, else (after a takeover) epoch 0's shards. */
  private async calibrationRows(): Promise<Columns> {
    if (this.trainData !== null) return this.trainData;
    const spec = this.spec as JobSpec;
    return shardColumns(await this.store.getBlob(shardBlob(spec.shards[0])), spec.shards[0]);
  }

  private async report(trainer: Trainer, done: Set<string>): Promise<ClusterReport> {
    const spec = this.spec as JobSpec;
    const redelivered: ClusterReport['redelivered'] = [];
    for (const k of await this.store.keys('redelivered.>')) {
      const v = await this.store.getJson<{ attempts: number }>(k);
      redelivered.push({ shard: k.slice('redelivered.'.length), attempts: v?.value.attempts ?? 2 });
    }
    // Rows synced by attempts that did not finish their shard (the finishing attempt is in done.<id>).
    let twice = 0;
    for (const k of await this.store.keys('prog.>')) {
      const [, id, attempt] = /^prog\.(.+)\.(\d+)$/.exec(k) ?? [];
      if (id === undefined) continue;
      const fin = await this.store.getJson<{ attempt: number }>(`done.${id}`);
      if (fin !== null && fin.value.attempt !== Number(attempt)) twice += (await this.store.getJson<{ rows: number }>(k))?.value.rows ?? 0;
    }
    let rowsTrained = 0;
    for (const s of spec.shards) if (done.has(s.id)) rowsTrained += s.rows;
    const workers: ClusterReport['workers'] = [];
    for (const k of await this.store.keys('stats.>')) {
      const w = (await this.store.getJson<WorkerStats>(k))?.value;
      if (w) workers.push({ ...w, rowsPerSec: w.rows / Math.max(1e-9, w.trainSeconds + w.syncSeconds) });
    }
    const phases = [...(await this.store.entries<ClosedRecord>('closed.*')).values()].filter((c) => c.phases !== undefined && c.rows > 0).map((c) => c.phases as NonNullable<ClosedRecord['phases']>);
    const meanOf = (f: (p: (typeof phases)[number]) => number): number => phases.reduce((a, p) => a + f(p), 0) / Math.max(1, phases.length);
    const lease = (await this.store.getJson<Lease>('lease'))?.value;
    const round = (await this.store.getJson<RoundRecord>('round'))?.value;
    const report: ClusterReport = {
      job: spec.job,
      rowsPerEpoch: spec.rows,
      epochs: spec.epochs,
      shards: spec.shards.length,
      shardsDone: done.size,
      redelivered,
      rowsTrainedTwice: twice,
      rowsTrained,
      everyRowTrained: spec.shards.every((s) => done.has(s.id)) && rowsTrained === spec.rows * spec.epochs,
      rounds: round?.closedRounds ?? 0,
      roundPhasesMs: { detect: meanOf((p) => p.detect), read: meanOf((p) => p.read), merge: meanOf((p) => p.merge), write: meanOf((p) => p.write) },
      coordinatorTakeovers: lease?.takeovers ?? 0,
      workers,
      versions: [],
      seconds: (Date.now() - this.startedAt) / 1000,
      finishedAt: new Date().toISOString(),
    };
    const score = async (name: 'valid' | 'test'): Promise<{ auc: number; logloss: number; rows: number } | undefined> => {
      if (spec.evalRows[name] === 0) return undefined;
      const ds = decodeShard(await this.store.getBlob(`eval/${name}`));
      const r = await trainer.evaluate(ds);
      return { auc: r.auc, logloss: r.logloss, rows: ds.rows };
    };
    const valid = await score('valid');
    const test = await score('test');
    if (valid) report.valid = valid;
    if (test) report.test = test;
    return report;
  }
}
