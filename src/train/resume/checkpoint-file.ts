// Training checkpoint files (`ckpt-<rows>.bhck` in a checkpoint folder): everything `train --resume` needs to go on
// as if never stopped. The payload is a `.bhm` container (models/model-codec.ts: JSON header + named float32
// tensors) wrapped in an envelope of its own, so a model file is never mistaken for a checkpoint or the other way
// round, and a truncated or corrupted file is caught by the XXH64 of the payload before anything is decoded.
// Never prints; errors are CheckpointError (the CLI prints one line naming the file and the reason).
//
//   offset 0   "BHCK"                   magic (4 bytes)
//          4   u32 format version       (little-endian, CHECKPOINT_VERSION)
//          8   u32 payload bytes, low   (u64 as two u32)
//         12   u32 payload bytes, high
//         16   payload: a .bhm container (model = normalized model config, meta = CheckpointHeader)
//     16 + P   XXH64 (seed 0) of the payload: u32 low, u32 high

import { closeSync, fstatSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, IoError, isBhembedError } from '../../core/errors.js';
import { forgetWritten } from '../../core/cleanup.js';
import { xxh64Bytes, Xxh64Stream } from '../../hash/xxh64.js';
import { decodeModelFile, emptyTensors, encodeModelFile, MODEL_FILE_MAGIC, MODEL_FILE_PIECE_BYTES, modelFileLayout, type NamedTensor } from '../../models/model-codec.js';
import { readAt, readModelPieces, writeFileAtomicWith, writeModelPieces } from '../../models/model-file.js';

export const CHECKPOINT_MAGIC = 'BHCK';
export const CHECKPOINT_VERSION = 1;
/** Checkpoint file names in a checkpoint folder; the number is the training rows done. */
export const CHECKPOINT_FILE = /^ckpt-([0-9]{1,15})\.bhck$/;
/** Checkpoints a folder keeps (the newest ones); older ones are deleted after each write. */
export const CHECKPOINTS_KEPT = 2;

/** The JSON part of a checkpoint (plain data; non-finite numbers are kept, see encodeJsonNumbers). */
export interface CheckpointHeader {
  format: 'bhembed-checkpoint';
  /** Identifies one training run: every checkpoint it writes carries it (a folder of another run is refused). */
  runId: string;
  /** Training rows done when it was written (counted over epochs). */
  rows: number;
  /** The run finished: the weights are the final (or best, with early stopping) ones. */
  done: boolean;
  /** Trainer loop state (train/trainer.ts TrainerLoopState). */
  trainer: Record<string, unknown>;
  /** Whoever trained stores here what resuming needs: options, data identity (plain JSON). */
  run: Record<string, unknown>;
  bhembed: string;
}

export interface CheckpointContents {
  path: string;
  /** Normalized model config. */
  model: unknown;
  header: CheckpointHeader;
  tensors: NamedTensor[];
}

// JSON has no NaN or Infinity (a one-class validation AUC is NaN): they travel as tagged strings.
const NONFINITE = '\u0000num:';
function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? `${NONFINITE}${String(v)}` : v;
}
function revive(v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith(NONFINITE)) return Number(v.slice(NONFINITE.length));
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  return v;
}

function hashOf(bytes: Uint8Array, start: number, end: number): [number, number] {
  const out = new Uint32Array(2);
  xxh64Bytes(bytes, start, end, 0, out, 0);
  return [out[0], out[1]];
}

/** The checkpoint's bytes. */
export function encodeCheckpoint(model: unknown, header: CheckpointHeader, tensors: NamedTensor[]): Uint8Array {
  const meta = JSON.parse(JSON.stringify(header, replacer)) as Record<string, unknown>;
  const payload = encodeModelFile(model, meta, tensors, { dtype: 'float32' });
  const out = new Uint8Array(16 + payload.length + 8);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  dv.setUint32(4, CHECKPOINT_VERSION, true);
  dv.setUint32(8, payload.length >>> 0, true);
  dv.setUint32(12, Math.floor(payload.length / 2 ** 32), true);
  out.set(payload, 16);
  const [lo, hi] = hashOf(out, 16, 16 + payload.length);
  dv.setUint32(16 + payload.length, lo, true);
  dv.setUint32(20 + payload.length, hi, true);
  return out;
}

type Fail = (why: string, code?: 'checkpoint.corrupt' | 'checkpoint.version') => CheckpointError;

function failFor(path: string): Fail {
  return (why, code = 'checkpoint.corrupt') => new CheckpointError(code, `${path}: ${why}`, { file: path });
}

/** Check the envelope from the file's first (up to 24) bytes and its size; returns the payload's length. */
function checkEnvelope(head: Uint8Array, size: number, fail: Fail): number {
  const magic = new TextDecoder().decode(head.subarray(0, 4));
  if (size < 4 || magic !== CHECKPOINT_MAGIC) {
    if (magic === MODEL_FILE_MAGIC) throw fail('is a model file (.bhm), not a training checkpoint (give model files to --init-from)');
    throw fail('not a bhembed training checkpoint (no BHCK magic)');
  }
  if (size < 24) throw fail(`truncated: ${size} bytes, shorter than a checkpoint's envelope`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== CHECKPOINT_VERSION) throw fail(`checkpoint format version ${version}, this bhembed reads version ${CHECKPOINT_VERSION}`, 'checkpoint.version');
  const len = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
  if (size < 16 + len + 8) throw fail(`truncated: ${size} bytes, the checkpoint says ${16 + len + 8}`);
  if (size > 16 + len + 8) throw fail(`${size - (16 + len + 8)} bytes of trailing garbage after the checkpoint`);
  return len;
}

function contentsOf(path: string, inner: { model: unknown; meta: Record<string, unknown>; tensors: NamedTensor[] }, fail: Fail): CheckpointContents {
  const header = revive(inner.meta) as CheckpointHeader;
  if (header.format !== 'bhembed-checkpoint' || typeof header.runId !== 'string' || typeof header.trainer !== 'object') throw fail('not a bhembed training checkpoint (header)');
  return { path, model: inner.model, header, tensors: inner.tensors };
}

/** Decode and verify; every failure is one CheckpointError naming `path` and the reason. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): CheckpointContents {
  const fail = failFor(path);
  const len = checkEnvelope(bytes, bytes.length, fail);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [lo, hi] = hashOf(bytes, 16, 16 + len);
  if (dv.getUint32(16 + len, true) !== lo || dv.getUint32(20 + len, true) !== hi) throw fail('checksum mismatch (XXH64 of the payload): the file is corrupted');
  let inner;
  try {
    inner = decodeModelFile(bytes.subarray(16, 16 + len), path);
  } catch (e) {
    throw fail(`payload does not decode (${(e as Error).message})`);
  }
  return contentsOf(path, inner, fail);
}

/**
 * Read and verify one checkpoint file, of any size: positional reads in pieces of `pieceBytes`, one pass for the
 * XXH64 of the payload (nothing is decoded from a damaged file), one to decode it.
 */
export function readCheckpoint(path: string, opts: { pieceBytes?: number } = {}): CheckpointContents {
  const fail = failFor(path);
  const pieceBytes = opts.pieceBytes ?? MODEL_FILE_PIECE_BYTES;
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = checkEnvelope(readAt(fd, 0, Math.min(24, size)), size, fail);
    const h = new Xxh64Stream(0);
    const buf = new Uint8Array(Math.min(pieceBytes, Math.max(8, len)));
    for (let at = 0; at < len; ) {
      const piece = readAt(fd, 16 + at, Math.min(buf.length, len - at), buf);
      if (piece.length === 0) throw fail('truncated while it was read');
      h.update(piece);
      at += piece.length;
    }
    const want = new Uint32Array(2);
    h.digest(want, 0);
    const tail = readAt(fd, 16 + len, 8);
    const dv = new DataView(tail.buffer, tail.byteOffset, 8);
    if (dv.getUint32(0, true) !== want[0] || dv.getUint32(4, true) !== want[1]) throw fail('checksum mismatch (XXH64 of the payload): the file is corrupted');
    let inner;
    try {
      inner = readModelPieces(path, (p) => emptyTensors(p.header), { fd, base: 16, length: len, pieceBytes });
    } catch (e) {
      throw fail(`payload does not decode (${(e as Error).message})`);
    }
    return contentsOf(path, inner, fail);
  } catch (e) {
    if (isBhembedError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IoError(`${path}: checkpoint not found`, { file: path });
    throw new IoError(`${path}: cannot read checkpoint (${code ?? String(e)})`, { file: path });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** The checkpoint files of a folder, newest (most rows) first. */
export function listCheckpoints(dir: string): { path: string; rows: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new IoError(`${dir}: not a folder (expected a checkpoint folder)`, { file: dir });
    throw new IoError(`${dir}: cannot read (${code ?? String(e)})`, { file: dir });
  }
  const out: { path: string; rows: number }[] = [];
  for (const n of names) {
    const m = CHECKPOINT_FILE.exec(n);
    if (m !== null) out.push({ path: join(dir, n), rows: Number(m[1]) });
  }
  return out.sort((a, b) => b.rows - a.rows);
}

/**
 * The newest checkpoint of `dirOrFile` (a folder), or that file. A damaged newest file is refused rather than
 * skipped (atomic writes never leave one, so something else broke it); the message names the older one to fall back to.
 */
export function readLatestCheckpoint(dirOrFile: string): CheckpointContents {
  let st;
  try {
    st = statSync(dirOrFile);
  } catch {
    throw new IoError(`${dirOrFile}: no such checkpoint folder or file`, { file: dirOrFile });
  }
  if (!st.isDirectory()) return readCheckpoint(dirOrFile);
  const list = listCheckpoints(dirOrFile);
  if (list.length === 0) throw new CheckpointError('checkpoint.corrupt', `${dirOrFile}: no checkpoint in this folder (expected ckpt-<rows>.bhck files written by train --checkpoint-dir)`, { file: dirOrFile });
  try {
    return readCheckpoint(list[0].path);
  } catch (e) {
    if (list.length > 1 && e instanceof CheckpointError) {
      throw new CheckpointError(e.code as 'checkpoint.corrupt', `${e.message}; delete it to resume from the previous checkpoint ${list[1].path}`, e.details);
    }
    throw e;
  }
}

/**
 * Write a checkpoint into `dir` atomically (temp file, fsync, rename), then delete all but the newest
 * CHECKPOINTS_KEPT. Returns the file's path and size.
 */
export function writeCheckpoint(dir: string, model: unknown, header: CheckpointHeader, tensors: NamedTensor[], opts: { pieceBytes?: number } = {}): { path: string; bytes: number } {
  const path = join(dir, `ckpt-${String(header.rows).padStart(12, '0')}.bhck`);
  // In pieces (tables of any size): the envelope, the payload with its XXH64 computed as it goes, the hash.
  const meta = JSON.parse(JSON.stringify(header, replacer)) as Record<string, unknown>;
  const layout = modelFileLayout(model, meta, tensors, { dtype: 'float32' });
  const len = layout.total;
  const envelope = new Uint8Array(16);
  const dv = new DataView(envelope.buffer);
  envelope.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  dv.setUint32(4, CHECKPOINT_VERSION, true);
  dv.setUint32(8, len >>> 0, true);
  dv.setUint32(12, Math.floor(len / 2 ** 32), true);
  writeFileAtomicWith(path, (append) => {
    append(envelope);
    const h = new Xxh64Stream(0);
    writeModelPieces(
      layout,
      tensors,
      (b) => {
        h.update(b);
        append(b);
      },
      opts.pieceBytes,
    );
    const out = new Uint32Array(2);
    h.digest(out, 0);
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, out[0], true);
    new DataView(tail.buffer).setUint32(4, out[1], true);
    append(tail);
  });
  // Older checkpoints, and temp files a killed writer left (writeFileAtomic names them .ckpt-….tmp).
  const stale = listCheckpoints(dir)
    .slice(CHECKPOINTS_KEPT)
    .map((c) => c.path);
  for (const n of readdirSync(dir)) if (/^\.ckpt-[0-9]+\.bhck\..*\.tmp$/.test(n) && !n.includes(`.${process.pid}.`)) stale.push(join(dir, n));
  for (const p of stale) {
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
    forgetWritten(p); // no longer kept: an interrupt message must not list it
  }
  return { path, bytes: 16 + len + 8 };
}
