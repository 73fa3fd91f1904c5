// The JetStream resources of one cluster job and the only place that talks to the @nats-io clients: a work-queue
// stream of shards, a KV bucket of job state (lease, rounds, shard records), a short-TTL KV bucket of worker
// heartbeats and an object store of blobs (shard data, parameter snapshots, model versions). Every call retries
// through leader elections and reconnects (a JetStream cluster that loses a server answers 503 / times out for a
// few seconds), so callers never see a transient failure. Loaded only by `--cluster` code paths.

import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, type MsgRequest } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { ConfigError, IoError, UsageError } from '../core/errors.js';

/** Seconds since a worker's last heartbeat (its `w.<id>` key's time) after which it counts as dead. */
export const HEARTBEAT_TTL_S = 4;
/** Seconds a coordinator lease lasts without renewal. */
export const LEASE_TTL_S = 6;

export interface JobNames {
  stream: string;
  subject: string;
  /** Core NATS subjects of wake-up hints (`<wake>.<topic>`). */
  wake: string;
  consumer: string;
  kv: string;
  obj: string;
}

const JOB_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function checkJobName(job: string): void {
  if (!JOB_RE.test(job)) throw new UsageError(`--job '${job}': use 1-64 letters, digits, '-' or '_'`);
}

export function jobNames(job: string): JobNames {
  checkJobName(job);
  return { stream: `BHJ_${job}`, subject: `bhj.${job}.shard`, wake: `bhj.${job}.wake`, consumer: 'workers', kv: `bhj_${job}`, obj: `bhj_${job}_blobs` };
}

/** Parses nats://HOST:PORT[,nats://HOST2:PORT…] into server URLs (usage error on anything else). */
export function parseClusterUrl(url: string): string[] {
  const parts = url.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UsageError(`--cluster '${url}': expected nats://HOST:PORT`);
  for (const p of parts) if (!/^(nats|tls):\/\/[^\s/:]+(:\d+)?$/.test(p)) throw new UsageError(`--cluster '${p}': expected nats://HOST:PORT`);
  return parts;
}

export interface Wake {
  wait(ms: number): Promise<void>;
  close(): void;
}

/** A failure that a retry may cure (a read ahead of a replica). */
class TransientError extends Error {}

function transient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  const msg = String((e as Error)?.message ?? e);
  const code = (e as { code?: unknown })?.code;
  return (
    /timeout|TIMEOUT|503|jetstream is not enabled|jetstream not enabled|temporarily unavailable|no responders|no_responders|NoResponders|disconnect|reconnect|CONNECTION|connection|leader|cluster|Timeout|stream not found|insufficient resources|closed|expected last/i.test(msg) ||
    code === 'TIMEOUT' ||
    code === 503
  ) && !/wrong last sequence|key exists|non-clustered mode/i.test(msg);
}

/** Seconds one JetStream call may take before it counts as lost (a push consumer on a dead server never ends). */
const CALL_TIMEOUT_MS = 8000;

function timed<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('call timeout')), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Runs op, retrying transient JetStream failures (leader election, reconnect, a call that hangs) for up to `ms`. */
export async function retry<T>(what: string, op: () => Promise<T>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  let wait = 50;
  for (;;) {
    try {
      return await timed(op(), CALL_TIMEOUT_MS);
    } catch (e) {
      if (process.env.BHEMBED_DEBUG === '1') process.stderr.write(`bhembed: cluster: ${what}: ${(e as Error).message} (retrying: ${transient(e)})\n`);
      if (!transient(e) || Date.now() > until) throw new IoError(`cluster: ${what} failed: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(1000, wait * 2);
    }
  }
}

/** One job's handles. `replicas` 3 on a 3-server cluster (survives one server), else 1. */
export class JobStore {
  readonly names: JobNames;
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly kv: KV,
    readonly obj: ObjectStore,
    readonly job: string,
    private readonly valueLimit?: number,
  ) {
    this.names = jobNames(job);
  }

  /** `maxValueBytes`: submissions larger than this go through the object store (tests; default: the server's limit). */
  static async open(url: string, job: string, opts: { name?: string; maxValueBytes?: number } = {}): Promise<JobStore> {
    const names = jobNames(job);
    const servers = parseClusterUrl(url);
    let nc: NatsConnection;
    try {
      // Pings every 5 s, 3 unanswered: a server that vanished without closing its socket (a machine lost) is left
      // for another within ~15 s (the default, 2 min x 2, stalled every call for minutes).
      nc = await connect({ servers, name: opts.name ?? 'bhembed', maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, pingInterval: 5000, maxPingOut: 3 });
    } catch (e) {
      throw new IoError(`--cluster ${url}: cannot connect (${(e as Error).message}); is \`nats-server -js\` running there?`);
    }
    try {
      // A server without -js answers 'not enabled' at once; give it a few seconds (a cluster electing its leader says the same).
      const jsm = await retry('JetStream', () => jetstreamManager(nc, { timeout: 5000 }), 8000);
      const js = jetstream(nc, { timeout: 5000 });
      const info = await retry('server info', () => jsm.getAccountInfo());
      void info;
      // 3 replicas (one server may die) when the job is given 3+ servers or the server names 3+ cluster members;
      // else 1. (connect_urls fills in as the cluster gossips: the URL list is the dependable sign.)
      // A lone server (no cluster block: its INFO names no cluster) keeps one copy whatever the URL list says.
      const replicas = nc.info?.cluster !== undefined && (servers.length >= 3 || (nc.info?.connect_urls?.length ?? 1) >= 3) ? 3 : 1;
      await retry('shard stream', async () => {
        try {
          await jsm.streams.info(names.stream);
        } catch {
          await jsm.streams.add({ name: names.stream, subjects: [names.subject], retention: RetentionPolicy.Workqueue, num_replicas: replicas });
        }
      });
      const kvm = new Kvm(js);
      const kv = await retry('job bucket', () => kvm.create(names.kv, { replicas, history: 1 }));
      const obj = await retry('object store', () => new Objm(js).create(names.obj, { replicas }));
      return new JobStore(nc, js, jsm, kv, obj, job, opts.maxValueBytes);
    } catch (e) {
      await nc.close().catch(() => undefined);
      if (/jetstream (is )?not enabled|503/i.test((e as Error).message)) {
        throw new ConfigError(`--cluster ${url}: JetStream is not enabled on the server (start it with \`nats-server -js\`)`);
      }
      throw e;
    }
  }

  /** The shard consumer (durable, explicit ack, redelivery after ackWaitS without ack or progress). */
  async consumer(ackWaitS: number): Promise<Consumer> {
    const { stream, consumer } = this.names;
    await retry('shard consumer', async () => {
      try {
        await this.jsm.consumers.info(stream, consumer);
      } catch {
        await this.jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, ack_wait: ackWaitS * 1e9, max_deliver: -1 });
      }
    });
    return retry('shard consumer', () => this.js.consumers.get(stream, consumer));
  }

  async publishShard(data: Uint8Array): Promise<void> {
    await retry('publish shard', () => this.js.publish(this.names.subject, data));
  }

  async purgeShards(): Promise<void> {
    await retry('purge shards', () => this.jsm.streams.purge(this.names.stream));
  }

  async pendingShards(): Promise<number> {
    const info = await retry('stream info', () => this.jsm.streams.info(this.names.stream));
    return info.state.messages;
  }

  async getJson<T>(key: string): Promise<{ value: T; revision: number } | null> {
    const e = await retry(`get ${key}`, () => this.kv.get(key));
    if (e === null || e.operation !== 'PUT' || e.length === 0) return null;
    return { value: e.json<T>(), revision: e.revision };
  }

  /**
   * A binary KV value (null: absent or deleted), read from the stream leader like the key lists: the KV client's
   * get is a direct get that any replica answers, and on a 3-server cluster a replica a moment behind answered
   * "missing" for a snapshot the round record already named (seen in the kill -9 test).
   */
  async getBytes(key: string): Promise<Uint8Array | null> {
    const m = await retry(`get ${key}`, () => this.jsm.streams.getMessage(`KV_${this.names.kv}`, { last_by_subj: `$KV.${this.names.kv}.${key}` }));
    // A delete or purge leaves a marker without data (KV-Operation header).
    if (m === null || m.data.length === 0 || (m.header?.get('KV-Operation') ?? '') !== '') return null;
    return m.data;
  }

  async putBytes(key: string, value: Uint8Array): Promise<number> {
    return retry(`put ${key}`, () => this.kv.put(key, value));
  }

  /** The largest value one KV message carries here (the server's max_payload, less room for headers). */
  get maxValueBytes(): number {
    return this.valueLimit ?? (this.nc.info?.max_payload ?? 1024 * 1024) - 16 * 1024;
  }

  /**
   * A parameter snapshot (the base of a round): one KV value `params.<id>` when it fits in a message (one round trip
   * to write, one to read), else the object-store blob `params/<id>`. Returns the name round records carry.
   */
  async putSnapshot(id: string, bytes: Uint8Array): Promise<string> {
    if (bytes.length <= this.maxValueBytes) {
      await this.putBytes(`params.${id}`, bytes);
      return `params.${id}`;
    }
    await this.putBlob(`params/${id}`, bytes);
    return `params/${id}`;
  }

  async getSnapshot(name: string): Promise<Uint8Array> {
    if (!name.startsWith('params.')) return this.getBlob(name);
    // Written (and acknowledged by a majority) before the round record that names it: absent only for a moment
    // around a leader change, so retried like one.
    const b = await retry(`get ${name}`, async () => {
      const got = await this.getBytes(name);
      if (got === null) throw new TransientError(`parameter snapshot ${name} not found`);
      return got;
    }).catch(() => null);
    if (b === null) throw new IoError(`cluster job ${this.job}: parameter snapshot ${name} is missing`);
    return b;
  }

  async deleteSnapshot(name: string): Promise<void> {
    if (name.startsWith('params.')) await this.deleteKey(name).catch(() => undefined);
    else await this.deleteBlob(name);
  }

  async putJson(key: string, value: unknown): Promise<number> {
    return retry(`put ${key}`, () => this.kv.put(key, JSON.stringify(value)));
  }

  /** Compare-and-set: writes only if the key is still at `revision` (0: only if absent). null when someone else won. */
  async casJson(key: string, value: unknown, revision: number): Promise<number | null> {
    try {
      return await retry(`update ${key}`, () => (revision === 0 ? this.kv.create(key, JSON.stringify(value)) : this.kv.update(key, JSON.stringify(value), revision)));
    } catch (e) {
      if (/wrong last sequence|key exists|expected last/i.test((e as Error).message)) return null;
      throw e;
    }
  }

  /** One try, no retries (heartbeats: the next one follows in a second). */
  async putOnce(key: string, value: unknown): Promise<void> {
    await timed(this.kv.put(key, JSON.stringify(value)), CALL_TIMEOUT_MS);
  }

  /** Workers whose heartbeat is at most HEARTBEAT_TTL_S old, with their last heartbeat's value. */
  async liveWorkers<T extends { at: number }>(): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    const now = Date.now();
    for (const [k, v] of await this.entries<T>('w.*')) if (now - v.at <= HEARTBEAT_TTL_S * 1000) out.set(k.slice(2), v);
    return out;
  }

  /**
   * The live keys matching a KV filter ('done.>', 'w.*'). Read from the stream's subject list (stream info with a
   * subject filter, answered by the stream leader) instead of the client's kv.keys(), which creates an ephemeral
   * consumer: on nats-server 2.9 a new consumer may be placed on a server that died minutes ago (the meta leader
   * still counts it as a peer), and its creation times out until that server is declared gone.
   */
  async keys(filter: string): Promise<string[]> {
    return [...(await this.entries(filter)).keys()];
  }

  /**
   * Keys that were ever written under `filter`, purged ones included (a purge keeps the key's subject): one call to
   * the stream leader, no read per key. Exact for keys that are never purged (done.<shard>) and for a round's
   * submissions while the round is open (they are purged only after it closes).
   */
  async subjects(filter: string): Promise<string[]> {
    const prefix = `$KV.${this.names.kv}.`;
    return retry(`keys ${filter}`, async () => {
      const info = await this.jsm.streams.info(`KV_${this.names.kv}`, { subjects_filter: `${prefix}${filter}` });
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
    });
  }

  /** Keys matching `filter` with their values (deleted keys left out). */
  async entries<T>(filter: string): Promise<Map<string, T>> {
    const keys = await this.subjects(filter);
    const out = new Map<string, T>();
    // Purged keys keep their subject (the purge marker): getJson reads them as absent.
    const values = await Promise.all(keys.map((k) => this.getJson<T>(k)));
    keys.forEach((k, i) => {
      const v = values[i];
      if (v !== null) out.set(k, v.value);
    });
    return out;
  }

  /**
   * A hint on core NATS (no JetStream, no consumer, nothing stored) that `topic` changed in the job's KV: the
   * coordinator hears of a submission and the workers of a closed round at once instead of at their next poll.
   * Only a hint: a lost one (a reconnect) costs one poll interval, as the KV stays the truth.
   */
  notify(topic: string): void {
    try {
      this.nc.publish(`${this.names.wake}.${topic}`);
    } catch {
      // closed or reconnecting: the pollers look anyway
    }
  }

  /** Waits for `topic`'s hints: wait(ms) returns at the next hint (or at once if one came since the last wait), or after ms. */
  wakeOn(topic: string): Wake {
    let hinted = false;
    let wake: (() => void) | null = null;
    const sub = this.nc.subscribe(`${this.names.wake}.${topic}`, {
      callback: () => {
        hinted = true;
        wake?.();
      },
    });
    return {
      wait: (ms: number) =>
        new Promise<void>((resolve) => {
          if (hinted) {
            hinted = false;
            resolve();
            return;
          }
          const timer = setTimeout(done, ms);
          function done(): void {
            clearTimeout(timer);
            wake = null;
            hinted = false;
            resolve();
          }
          wake = done;
        }),
      close: () => sub.unsubscribe(),
    };
  }

  async deleteKey(key: string): Promise<void> {
    await retry(`delete ${key}`, () => this.kv.purge(key));
  }

  async putBlob(name: string, data: Uint8Array): Promise<void> {
    await retry(`put ${name}`, () => this.obj.putBlob({ name }, data));
  }

  /**
   * An object's bytes, read without a consumer (the client's obj.get() creates one; see keys()): the metadata by
   * the stream leader's last-message-for-subject get, then each chunk by next-message-for-subject gets, the digest
   * checked. A chunk not found yet (a reader ahead of a replica) or a digest mismatch counts as transient.
   */
  async getBlob(name: string): Promise<Uint8Array> {
    const b = await retry(`get ${name}`, () => this.readObject(name));
    if (b === null) throw new IoError(`cluster job ${this.job}: object ${name} is missing`);
    return b;
  }

  private async readObject(name: string): Promise<Uint8Array | null> {
    const stream = `OBJ_${this.names.obj}`;
    const meta = await this.jsm.streams.getMessage(stream, { last_by_subj: `$O.${this.names.obj}.M.${Buffer.from(name).toString('base64url')}${'='.repeat((3 - (Buffer.byteLength(name) % 3)) % 3)}` });
    if (meta === null) return null;
    const info = meta.json<{ nuid: string; size: number; chunks: number; digest: string; deleted?: boolean }>();
    if (info.deleted) return null;
    const out = new Uint8Array(info.size);
    const hash = createHash('sha256');
    const subj = `$O.${this.names.obj}.C.${info.nuid}`;
    let seq = 1;
    let at = 0;
    for (let c = 0; c < info.chunks; c++) {
      // next_by_subj: the server's message get has it since 2.9 (the client types list it for direct gets only).
      const m = await this.jsm.streams.getMessage(stream, { seq, next_by_subj: subj } as unknown as MsgRequest);
      if (m === null || m.seq >= meta.seq) throw new TransientError(`object ${name}: chunk ${c + 1} of ${info.chunks} not found`);
      if (at + m.data.length > out.length) throw new Error(`object ${name}: chunks exceed ${info.size} bytes`);
      out.set(m.data, at);
      hash.update(m.data);
      at += m.data.length;
      seq = m.seq + 1;
    }
    const digest = hash.digest('base64url');
    if (at !== info.size || info.digest.replace(/^SHA-256=/, '').replace(/=+$/, '') !== digest) throw new TransientError(`object ${name}: digest mismatch`);
    return out;
  }

  async hasBlob(name: string): Promise<boolean> {
    return (await retry(`info ${name}`, () => this.obj.info(name))) !== null;
  }

  async deleteBlob(name: string): Promise<void> {
    await retry(`delete ${name}`, () => this.obj.delete(name)).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

export type { JsMsg };
