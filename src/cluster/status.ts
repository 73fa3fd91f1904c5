// `bhembed cluster status`: a job's state read from JetStream alone (any machine can ask, no worker is asked):
// shards done / pending / in flight / redelivered, live workers with their rows and sync time, the last
// averaging round, the coordinator lease and the model versions.

import type { ClusterReport, Lease, ModelVersion } from './coordinator.js';
import type { JobSpec } from './job.js';
import { retry, type JobStore } from './nats.js';
import type { WorkerStats } from './worker.js';

export interface ClusterStatus {
  job: string;
  state: 'none' | 'setting up' | 'running' | 'done' | 'failed';
  message?: string;
  shards: { total: number; done: number; pending: number; inFlight: number; redelivered: number };
  rows: { perEpoch: number; epochs: number; trained: number };
  workers: (WorkerStats & { shard: string | null; shardDone?: number; shardRows?: number; ageSeconds: number })[];
  coordinator: { holder: string; expiresIn: number; takeovers: number } | null;
  lastSync: { round: number; workers: number; rows: number; bytes: number; seconds: number; ago: number } | null;
  rounds: number;
  versions: ModelVersion[];
  report: ClusterReport | null;
}

export async function clusterStatus(store: JobStore): Promise<ClusterStatus> {
  const now = Date.now();
  const state = (await store.getJson<{ state: string; message?: string }>('state'))?.value;
  const spec = (await store.getJson<JobSpec>('spec'))?.value ?? null;
  const done = await store.keys('done.>');
  const redelivered = await store.keys('redelivered.>');
  let pending = 0;
  let inFlight = 0;
  try {
    const ci = await retry('consumer info', () => store.jsm.consumers.info(store.names.stream, store.names.consumer), 5000);
    pending = ci.num_pending;
    inFlight = ci.num_ack_pending;
  } catch {
    pending = await store.pendingShards(); // no worker has asked for a shard yet
  }
  const workers: ClusterStatus['workers'] = [];
  for (const w of (await store.liveWorkers<WorkerStats & { shard: string | null; shardDone?: number; shardRows?: number }>()).values()) workers.push({ ...w, ageSeconds: (now - w.at) / 1000 });
  const lease = (await store.getJson<Lease>('lease'))?.value;
  const last = (await store.getJson<{ round: number; workers: number; rows: number; bytes: number; seconds: number; at: number }>('lastSync'))?.value;
  const round = (await store.getJson<{ closedRounds: number }>('round'))?.value;
  let trained = 0;
  if (spec) {
    const ids = new Set(done.map((k) => k.slice(5)));
    for (const s of spec.shards) if (ids.has(s.id)) trained += s.rows;
  }
  const st = (state?.state ?? (lease ? 'setting up' : 'none')) as ClusterStatus['state'];
  return {
    job: store.job,
    state: st,
    ...(state?.message ? { message: state.message } : {}),
    shards: { total: spec?.shards.length ?? 0, done: done.length, pending, inFlight, redelivered: redelivered.length },
    rows: { perEpoch: spec?.rows ?? 0, epochs: spec?.epochs ?? 0, trained },
    workers,
    coordinator: lease && lease.until > now ? { holder: lease.holder, expiresIn: (lease.until - now) / 1000, takeovers: lease.takeovers } : null,
    lastSync: last ? { round: last.round, workers: last.workers, rows: last.rows, bytes: last.bytes, seconds: last.seconds, ago: (now - last.at) / 1000 } : null,
    rounds: round?.closedRounds ?? 0,
    versions: (await store.getJson<ModelVersion[]>('versions'))?.value ?? [],
    report: (await store.getJson<ClusterReport>('report'))?.value ?? null,
  };
}

/** `[#####-----]  40%`: the bar `bhembed train` draws, in text (status output may go to a file). */
export function textBar(done: number, total: number, width = 20): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

export function formatStatus(s: ClusterStatus): string[] {
  const lines = [`job ${s.job}: ${s.state}${s.message ? ` (${s.message})` : ''}`];
  lines.push(`shards: ${textBar(s.shards.done, s.shards.total)} ${s.shards.done}/${s.shards.total} done, ${s.shards.pending} pending, ${s.shards.inFlight} in flight, ${s.shards.redelivered} redelivered`);
  if (s.rows.perEpoch > 0) lines.push(`rows: ${s.rows.trained} of ${s.rows.perEpoch * s.rows.epochs} trained (${s.rows.perEpoch} x ${s.rows.epochs} epochs)`);
  lines.push(s.coordinator ? `coordinator: ${s.coordinator.holder} (lease ${s.coordinator.expiresIn.toFixed(1)} s, ${s.coordinator.takeovers} takeovers)` : 'coordinator: none');
  lines.push(`workers alive: ${s.workers.length}`);
  for (const w of s.workers) {
    const rate = w.trainSeconds + w.syncSeconds > 0 ? (w.rows / (w.trainSeconds + w.syncSeconds)).toFixed(0) : '0';
    const bar = w.shard && w.shardRows ? `${textBar(w.shardDone ?? 0, w.shardRows)} ${w.shardDone ?? 0}/${w.shardRows} rows of shard ${w.shard}` : w.shard ? `on shard ${w.shard}` : 'idle';
    lines.push(`  ${w.worker}: ${bar}; ${w.rows} rows in all, ${rate} rows/s, sync ${w.syncSeconds.toFixed(2)} s over ${w.syncs} rounds`);
  }
  lines.push(s.lastSync ? `last sync: round ${s.lastSync.round}, ${s.lastSync.workers} workers, ${s.lastSync.rows} rows, ${mb(s.lastSync.bytes)}, ${s.lastSync.ago.toFixed(1)} s ago (${s.rounds} rounds)` : 'last sync: none');
  lines.push(`model versions: ${s.versions.length === 0 ? 'none' : s.versions.map((v) => `${v.version}${v.final ? ' (final)' : ''}`).join(', ')}`);
  if (s.report) lines.push(...formatReport(s.report));
  return lines;
}

export function formatReport(r: ClusterReport): string[] {
  const lines = [
    `report: ${r.rowsTrained} rows trained of ${r.rowsPerEpoch * r.epochs}; every row trained at least once: ${r.everyRowTrained ? 'yes' : 'NO'}`,
    `report: ${r.redelivered.length} shards redelivered, ${r.rowsTrainedTwice} rows trained twice, ${r.coordinatorTakeovers} coordinator takeovers, ${r.rounds} averaging rounds, ${r.seconds.toFixed(1)} s`,
  ];
  if (r.valid) lines.push(`report: valid AUC ${r.valid.auc.toFixed(4)} logloss ${r.valid.logloss.toFixed(4)} (${r.valid.rows} rows)`);
  if (r.test) lines.push(`report: test AUC ${r.test.auc.toFixed(4)} logloss ${r.test.logloss.toFixed(4)} (${r.test.rows} rows)`);
  return lines;
}
