// The models a server serves and their versions (TF Serving's Loader / Servable in miniature). A model directory
// holds `name/` directories of numbered versions `1.bhm`, `2.bhm`, … that training publishes by rename (the newest
// number is served), and plain `name.bhm` files, served as version 1 and reloaded as version 2, 3, … whenever the
// file is replaced or rewritten (its inode, size, mtime or ctime change). A new version is loaded and warmed beside the current
// one, then swapped in one assignment: requests hold the version they started on until they finish, and a version
// that fails to load is recorded and leaves the current one serving. Library code: it reports through `onEvent`.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, IoError, isBhembedError } from '../../core/errors.js';
import type { InferPrecision } from '../../kernels/index.js';
import { Predictor } from '../predictor.js';
import type { BodyResult } from '../predictor.js';
import { MicroBatcher } from './batcher.js';
import type { BatcherOptions } from './batcher.js';

/** TF Serving's version states. */
export type VersionState = 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export interface RepositoryOptions {
  /** @default 'fp32' */
  precision?: InferPrecision;
  /** Scoring threads per loaded version. @default 1 */
  workers?: number;
  /** ORT threads of each scoring thread's tower. @default Predictor's (cores / workers) */
  inferThreads?: number;
  /** Longest accepted value, in characters. @default 4096 */
  maxValueLength?: number;
  /** Most instances in one request. @default 4096 */
  maxInstances?: number;
  batcher?: BatcherOptions;
  /** Called with the rows of each engine call, per model (metrics). */
  onBatch?: (model: string, rows: number) => void;
  /** Loads, swaps and failures, for the log. */
  onEvent?: (e: RepositoryEvent) => void;
}

export type RepositoryEvent =
  | { type: 'loaded'; model: string; version: string; path: string; ms: number }
  | { type: 'swapped'; model: string; from: string; to: string }
  | { type: 'failed'; model: string; version: string; path: string; message: string }
  | { type: 'scan-failed'; message: string };

/** One loaded version of a model. */
export class ModelVersion {
  state: VersionState = 'LOADING';
  error = '';
  private refs = 0;
  private closing: Promise<void> | null = null;

  constructor(
    readonly model: string,
    readonly version: string,
    readonly path: string,
    /** The file's inode, size and times when it was read (a plain model file is reloaded when they change). */
    readonly stamp: string,
    readonly predictor: Predictor,
    /** Request bodies → their probabilities or failures (read and scored on the scoring threads). */
    readonly batcher: MicroBatcher<Uint8Array, BodyResult>,
  ) {}

  acquire(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0 && this.state === 'UNLOADING') void this.close();
  }

  /** No new requests; closes when the last one in flight releases it. */
  retire(): void {
    this.state = 'UNLOADING';
    if (this.refs === 0) void this.close();
  }

  close(): Promise<void> {
    this.closing ??= this.predictor.close().then(() => {
      this.state = 'END';
    });
    return this.closing;
  }
}

interface VersionRecord {
  version: string;
  state: VersionState;
  error: string;
  /** inode, size, mtime and ctime of the file when tried: a failed file is retried only once it changes. */
  stamp: string;
}

/** A model: its served version and the record of every version seen. */
export class ServedModel {
  current: ModelVersion | null = null;
  readonly records = new Map<string, VersionRecord>();
  constructor(readonly name: string) {}

  /** Versions in TF Serving's GetModelStatus form, newest first. */
  status(): Array<{ version: string; state: VersionState; status: { error_code: string; error_message: string } }> {
    return [...this.records.values()]
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map((r) => ({ version: r.version, state: r.state, status: { error_code: r.error === '' ? 'OK' : 'UNKNOWN', error_message: r.error } }));
  }
}

/** A version file found by a scan. */
interface Candidate {
  model: string;
  version: string;
  path: string;
  stamp: string;
  /** A plain `name.bhm` (its version is a load count), not a numbered version file. */
  plain: boolean;
}

const VERSION_FILE = /^([0-9]{1,15})\.bhm$/;
const MODEL_FILE = /^(.+)\.bhm$/;

export class ModelRepository {
  readonly models = new Map<string, ServedModel>();
  private scanning: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly opts: RepositoryOptions = {},
  ) {}

  /** Every model has a version to serve (and there is at least one model). */
  get ready(): boolean {
    if (this.models.size === 0) return false;
    for (const m of this.models.values()) if (m.current === null) return false;
    return true;
  }

  /** Scan now (again after the current scan when one is running). */
  scan(): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        await this.scanOnce();
      } catch (e) {
        this.opts.onEvent?.({ type: 'scan-failed', message: isBhembedError(e) ? e.message : String((e as Error).message) });
      }
    };
    this.scanning = (this.scanning ?? Promise.resolve()).then(run);
    return this.scanning;
  }

  /** Scan every `ms` (unref'd: does not keep the process alive). */
  watch(ms: number): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => void this.scan(), ms);
    this.timer.unref();
  }

  /** The version files of each model as found on disk, newest first. */
  private candidates(): Candidate[][] {
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (e) {
      throw new IoError(`${this.dir}: cannot list the model directory (${(e as Error).message})`, { path: this.dir });
    }
    const out: Candidate[][] = [];
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const path = join(this.dir, ent.name);
      if (ent.isDirectory()) {
        let files: string[];
        try {
          files = readdirSync(path);
        } catch {
          continue;
        }
        const versions = files
          .flatMap((f) => {
            const m = VERSION_FILE.exec(f);
            return m === null ? [] : [{ n: Number(m[1]), file: join(path, f) }];
          })
          .sort((a, b) => b.n - a.n);
        if (versions.length > 0) out.push(versions.map((v) => ({ model: ent.name, version: String(v.n), path: v.file, stamp: stampOf(v.file), plain: false })));
      } else {
        const m = MODEL_FILE.exec(ent.name);
        if (m !== null) out.push([{ model: m[1], version: '1', path, stamp: stampOf(path), plain: true }]);
      }
    }
    return out;
  }

  private async scanOnce(): Promise<void> {
    if (this.closed) return;
    for (const versions of this.candidates()) {
      const name = versions[0].model;
      let m = this.models.get(name);
      if (m === undefined) {
        m = new ServedModel(name);
        this.models.set(name, m);
      }
      if (versions[0].plain) {
        await this.scanPlain(m, versions[0]);
        continue;
      }
      // Newest first; an older version is tried only when every newer one failed and it is newer than the served one.
      for (const c of versions) {
        const served = m.current === null ? -1 : Number(m.current.version);
        if (Number(c.version) <= served) break;
        const rec = m.records.get(c.version);
        if (rec !== undefined && rec.state === 'END' && rec.stamp === c.stamp) continue; // failed before, unchanged
        if (rec !== undefined && rec.state !== 'END') break;
        if (await this.load(m, c)) break;
        if (this.closed) return;
      }
    }
  }

  /**
   * A plain file changed since the served version was read (replaced by a rename, or rewritten in place): load it
   * as the next version beside the served one. A file that fails (say, caught half-written) is tried again once it
   * changes again; the served version stays meanwhile.
   */
  private async scanPlain(m: ServedModel, c: Candidate): Promise<void> {
    if (c.stamp === '' || (m.current !== null && m.current.stamp === c.stamp)) return;
    const version = String(m.current === null ? 1 : Number(m.current.version) + 1);
    const rec = m.records.get(version);
    if (rec !== undefined && (rec.state !== 'END' || rec.stamp === c.stamp)) return; // loading, or failed unchanged
    await this.load(m, { ...c, version });
  }

  /** Load c beside the served version and swap it in; false when it failed (recorded, reported). */
  private async load(m: ServedModel, c: Candidate): Promise<boolean> {
    const rec: VersionRecord = { version: c.version, state: 'LOADING', error: '', stamp: c.stamp };
    m.records.set(c.version, rec);
    const t0 = performance.now();
    let mv: ModelVersion;
    try {
      mv = await this.open(m.name, c);
    } catch (e) {
      rec.state = 'END';
      rec.error = isBhembedError(e) ? e.message : `${c.path}: ${(e as Error).message}`;
      this.opts.onEvent?.({ type: 'failed', model: m.name, version: c.version, path: c.path, message: rec.error });
      return false;
    }
    if (this.closed) {
      await mv.close();
      return true;
    }
    const old = m.current;
    mv.state = 'AVAILABLE';
    rec.state = 'AVAILABLE';
    m.current = mv; // the swap: requests from here on get the new version
    this.opts.onEvent?.({ type: 'loaded', model: m.name, version: c.version, path: c.path, ms: performance.now() - t0 });
    if (old !== null) {
      const oldRec = m.records.get(old.version);
      if (oldRec !== undefined) oldRec.state = 'END';
      old.retire();
      this.opts.onEvent?.({ type: 'swapped', model: m.name, from: old.version, to: c.version });
    }
    return true;
  }

  /** Load and warm every scoring thread with a request body, beside whatever is serving. */
  private async open(name: string, c: Candidate): Promise<ModelVersion> {
    const workers = this.opts.workers ?? 1;
    const predictor = await Predictor.load(c.path, { precision: this.opts.precision ?? 'fp32', workers, offThread: true, inferThreads: this.opts.inferThreads });
    try {
      const encoder = await predictor.rowEncoder({ maxValueLength: this.opts.maxValueLength });
      const body = { maxValueLength: this.opts.maxValueLength, maxInstances: this.opts.maxInstances };
      const warm = new TextEncoder().encode(JSON.stringify({ instances: [encoder.exampleRow()] }));
      const warmed = await Promise.all(Array.from({ length: predictor.workers }, () => predictor.predictJsonBodies([warm], body)));
      for (const [r] of warmed) if (!('probs' in r)) throw new ConfigError(`${c.path}: the model refuses its own example row: ${r.error}`);
      const batcher = new MicroBatcher<Uint8Array, BodyResult>(
        async (bodies) => {
          const results = await predictor.predictJsonBodies(bodies, body);
          let rows = 0;
          for (const r of results) if ('probs' in r) rows += r.probs.length;
          this.opts.onBatch?.(name, rows);
          return results;
        },
        (b) => b.length,
        { maxInFlight: predictor.workers + 1, ...this.opts.batcher },
      );
      return new ModelVersion(name, c.version, c.path, c.stamp, predictor, batcher);
    } catch (e) {
      await predictor.close();
      throw e;
    }
  }

  /** Stop watching and close every version (callers drain requests first). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.scanning?.catch(() => undefined);
    await Promise.all([...this.models.values()].map((m) => m.current?.close()));
  }
}

function stampOf(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '';
  }
}

/** The repository after its first scan: a directory with no model file is a ConfigError. */
export async function openRepository(dir: string, opts: RepositoryOptions = {}): Promise<ModelRepository> {
  const st = (() => {
    try {
      return statSync(dir);
    } catch {
      return null;
    }
  })();
  if (st === null || !st.isDirectory()) throw new ConfigError(`--model-dir ${dir}: not a directory`, { key: 'modelDir' });
  const repo = new ModelRepository(dir, opts);
  await repo.scan();
  if (repo.models.size === 0) {
    throw new ConfigError(`--model-dir ${dir}: no models: expected NAME.bhm files or NAME/ directories of numbered versions (1.bhm, 2.bhm, …)`, { key: 'modelDir' });
  }
  return repo;
}
