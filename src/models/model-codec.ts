// The `.bhm` model file format, bytes in and out with no file system (so the browser bundle, src/web/, reads it too):
// one versioned binary file that both train/ (writes) and serve/ (reads) use, so it lives below both of them. It
// knows nothing about architectures: a JSON header plus named float tensors. Corrupt, truncated or foreign files
// fail with CheckpointError, never with a RangeError from a DataView. model-file.ts adds reading and writing files.
//
//   offset 0   "BHMF"                magic (4 bytes)
//          4   u32 format version    (little-endian: 1, or 2 for a model that needs a version-2 reader, see below)
//          8   u32 header bytes H
//         12   header JSON (utf-8, H bytes), then zero padding to a multiple of 8
//          P   tensor data, each tensor 8-aligned, float32 or float16 little-endian
//        N-4   u32 CRC-32 (IEEE) of bytes [0, N-4)

import { CheckpointError } from '../core/errors.js';

export const MODEL_FILE_MAGIC = 'BHMF';
// Still 1 with the optional calibration tensor ('mlp.input_ranges', models/ctr-model.ts): it is one more named
// tensor, which readers that do not know it skip (loading looks tensors up by name), so no version bump.
// Version 2 (issue 13): a hybrid field whose cold part shares rows (index {"method":"hybrid","cold":"dhash",…}). A
// version-1 reader would fail on such a spec with a message about a missing codeBits, so these files say 2 and a
// version-1 reader names the version instead. A writer stamps the lowest version that describes its model
// (modelFileVersion), so every other model is still written as version 1 and older bhembed reads it; this bhembed
// reads both. Also version 2: a model some of whose fields have their own embedding dim (`fields[i].dim`, tables
// 'emb_d<D>.table' beside 'emb.table'), which a version-1 reader would build at one width and fail on its tables.
export const MODEL_FILE_VERSION = 2;
/** The versions this bhembed reads. */
export const MODEL_FILE_VERSIONS: readonly number[] = [1, 2];

/** The version a model file of `model` (the header's architecture JSON) needs: 2 when any field's index is a hybrid with a dhash cold part or any field has its own dim, else 1. */
export function modelFileVersion(model: unknown): number {
  const fields = (model as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) return 1;
  for (const f of fields) {
    const ix = (f as { index?: { method?: unknown; cold?: unknown } } | null)?.index;
    if (ix?.method === 'hybrid' && ix.cold !== undefined && ix.cold !== 'bh') return 2;
    if ((f as { dim?: unknown } | null)?.dim !== undefined) return 2;
  }
  return 1;
}

export type WeightDtype = 'float32' | 'float16';

/** One named tensor as stored in the file (the header's directory entry). */
export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  /** Byte offset from the start of the data section. */
  offset: number;
  bytes: number;
}

/** The JSON header. `model` and `meta` are free-form plain JSON chosen by the writer. */
export interface ModelFileHeader {
  format: 'bhembed-model';
  version: number;
  createdAt: string;
  /** Architecture config, normalized (plain JSON). */
  model: unknown;
  /** Training metadata: index specs, field names, data format, metrics… (plain JSON). */
  meta: Record<string, unknown>;
  tensors: TensorEntry[];
}

/**
 * What bhembed's trainer puts in `meta` (serve/ reads it back). Plain JSON; unknown keys are kept.
 *   data.reader: the ReaderOptions that parse input exactly as in training (schema inlined, numFields fixed).
 *     libsvm/libfm/libffm files record valueWeights: true (see ignoresValueWeights); each field's pooling is in the model config.
 */
export interface ModelFileMeta {
  bhembed: string;
  data: { format: string; fieldNames: string[]; denseNames: string[]; reader: Record<string, unknown> };
  /** The backend and GEMM provider training ran on; loading uses the same ones so predictions match bit for bit. */
  engine: { ops: string; gemm: string };
  /** Rows per prediction batch (contiguous from the first row). */
  evalBatch: number;
  /** The method asked for and each field's rows (what `inspect` shows). */
  embedding: { method: string; dim: number; fields: { name: string; method: string; rows: number; fullRows: number; hot?: number; hotShare?: number; keyBytes?: number }[]; target?: Record<string, number | string> };
  optim?: Record<string, unknown>;
  /** The training run's metrics JSON (RunMetrics). */
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * true when a model file's values' weights must be read as 1: a libsvm/libfm/libffm model whose stored reader
 * settings (meta.data.reader) lack `valueWeights: true`. bhembed 0.1.0 trained and scored with every weight 1 (weights
 * did not reach the model) and recorded nothing; later files record `valueWeights: true`. Every path that rebuilds a
 * model's reader asks this (serve/predictor and its row encoder, the browser encoder, ONNX export), so an old file
 * scores as 0.1.0 scored it. (Pooling needs no such key: every file's config records each field's `pooling`.)
 */
export function ignoresValueWeights(meta: Record<string, unknown>): boolean {
  const data = meta.data as { format?: unknown; reader?: unknown } | undefined;
  if (typeof data !== 'object' || data === null) return false;
  const weighted = data.format === 'libsvm' || data.format === 'libfm' || data.format === 'libffm';
  const reader = typeof data.reader === 'object' && data.reader !== null ? (data.reader as { valueWeights?: unknown }) : {};
  return weighted && reader.valueWeights !== true;
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Stored at this dtype whatever EncodeOptions.dtype says (e.g. float32 calibration ranges in a float16 file). */
  dtype?: WeightDtype;
}

export interface ModelFileContents {
  version: number;
  createdAt: string;
  model: unknown;
  meta: Record<string, unknown>;
  /** Always float32 in memory (float16 files are widened on read). */
  tensors: NamedTensor[];
}

export interface EncodeOptions {
  /** @default 'float32' */
  dtype?: WeightDtype;
  /** @default new Date().toISOString() */
  createdAt?: string;
}

// ---------------------------------------------------------------- CRC-32

let crcTable: Uint32Array | null = null;

function makeCrcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial). crc32("123456789") = 0xcbf43926. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes, start, end));
}

/** A running CRC-32 before any byte (crc32Update it piece by piece, then crc32Final). */
export const CRC32_INIT = 0xffffffff;

/** Feed bytes[start, end) to a running CRC-32. */
export function crc32Update(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = crcTable ?? (crcTable = makeCrcTable());
  let c = crc;
  for (let i = start; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c;
}

export function crc32Final(crc: number): number {
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- float16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float32, round to nearest even; overflow gives ±Inf, NaN stays NaN. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float32 value of an IEEE half. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// ---------------------------------------------------------------- encode / decode

const align8 = (n: number): number => (n + 7) & ~7;

function corrupt(source: string, reason: string): CheckpointError {
  return new CheckpointError('checkpoint.corrupt', `${source}: not a valid bhembed model file: ${reason}`, { file: source, reason });
}

/** Bytes of the pieces files are written and read in (Buffers stop at 2-4 GiB; tables may be larger). */
export const MODEL_FILE_PIECE_BYTES = 64 * 2 ** 20;

/** Where everything of a model file goes: its first bytes (magic, version, header, padding), tensor offsets, size. */
export interface ModelFileLayout {
  /** Bytes [0, dataStart): magic, version, header length, header JSON, zero padding. */
  prefix: Uint8Array;
  entries: TensorEntry[];
  /** Bytes of the data section (tensors and their padding). */
  dataBytes: number;
  /** File size: prefix + data + 4 (CRC-32). */
  total: number;
}

/** Check the tensors and lay the file out (no tensor bytes yet). Tensors keep their order; names must be unique. */
export function modelFileLayout(model: unknown, meta: Record<string, unknown>, tensors: NamedTensor[], opts: EncodeOptions = {}): ModelFileLayout {
  const fileDtype = opts.dtype ?? 'float32';
  const entries: TensorEntry[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (seen.has(t.name)) throw new CheckpointError('checkpoint.corrupt', `encodeModelFile: duplicate tensor name '${t.name}'`);
    seen.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new CheckpointError('checkpoint.corrupt', `encodeModelFile: tensor '${t.name}' has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    }
    const dtype = t.dtype ?? fileDtype;
    const width = dtype === 'float16' ? 2 : 4;
    entries.push({ name: t.name, shape: [...t.shape], dtype, offset, bytes: count * width });
    offset = align8(offset + count * width);
  }
  const version = modelFileVersion(model);
  const header: ModelFileHeader = {
    format: 'bhembed-model',
    version,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    model,
    meta,
    tensors: entries,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align8(12 + headerBytes.length);
  const prefix = new Uint8Array(dataStart);
  const dv = new DataView(prefix.buffer);
  prefix.set(new TextEncoder().encode(MODEL_FILE_MAGIC), 0);
  dv.setUint32(4, version, true);
  dv.setUint32(8, headerBytes.length, true);
  prefix.set(headerBytes, 12);
  return { prefix, entries, dataBytes: offset, total: dataStart + offset + 4 };
}

/**
 * The data section in pieces of at most pieceBytes (a multiple of 8), in file order, padding included. Each piece is
 * a view of one reused buffer: use it before asking for the next.
 */
export function* modelFileData(tensors: NamedTensor[], layout: ModelFileLayout, pieceBytes = MODEL_FILE_PIECE_BYTES): Generator<Uint8Array> {
  if (!(Number.isInteger(pieceBytes) && pieceBytes >= 8 && pieceBytes % 8 === 0)) throw new RangeError(`pieceBytes must be a positive multiple of 8, got ${pieceBytes}`);
  const cap = Math.min(pieceBytes, Math.max(8, layout.dataBytes));
  const buf = new Uint8Array(cap);
  const dv = new DataView(buf.buffer);
  let pos = 0;
  let fill = 0;
  const pad = function* (to: number): Generator<Uint8Array> {
    while (pos < to) {
      const n = Math.min(to - pos, cap - fill);
      buf.fill(0, fill, fill + n);
      fill += n;
      pos += n;
      if (fill === cap) {
        yield buf;
        fill = 0;
      }
    }
  };
  for (let i = 0; i < tensors.length; i++) {
    const e = layout.entries[i];
    yield* pad(e.offset);
    const data = tensors[i].data;
    const w = e.dtype === 'float16' ? 2 : 4;
    for (let j = 0; j < data.length; ) {
      const n = Math.min((cap - fill) / w, data.length - j);
      if (w === 4) for (let k = 0; k < n; k++) dv.setFloat32(fill + 4 * k, data[j + k], true);
      else for (let k = 0; k < n; k++) dv.setUint16(fill + 2 * k, toHalf(data[j + k]), true);
      fill += n * w;
      pos += n * w;
      j += n;
      if (fill === cap) {
        yield buf;
        fill = 0;
      }
    }
  }
  yield* pad(layout.dataBytes);
  if (fill > 0) yield buf.subarray(0, fill);
}

/** Serialize a model to bytes (one buffer: files use model-file.ts's pieces). Tensors keep their order; names must be unique. */
export function encodeModelFile(model: unknown, meta: Record<string, unknown>, tensors: NamedTensor[], opts: EncodeOptions = {}): Uint8Array {
  const layout = modelFileLayout(model, meta, tensors, opts);
  const out = new Uint8Array(layout.total);
  out.set(layout.prefix, 0);
  let at = layout.prefix.length;
  for (const piece of modelFileData(tensors, layout)) {
    out.set(piece, at);
    at += piece.length;
  }
  new DataView(out.buffer).setUint32(layout.total - 4, crc32(out, 0, layout.total - 4), true);
  return out;
}

/** What the first bytes of a model file say, checked against its size: the header, where data starts, its size. */
export interface ModelFilePrefix {
  version: number;
  header: ModelFileHeader;
  dataStart: number;
}

/** Bytes of the first part of a file that parseModelPrefix needs: 12, then 12 + the header length it reads there. */
export function modelPrefixBytes(first12: Uint8Array): number {
  return first12.length < 12 ? 12 : 12 + new DataView(first12.buffer, first12.byteOffset, 12).getUint32(8, true);
}

/**
 * Check magic, version, header and directory of a model file of `fileBytes` bytes from its first bytes `head`
 * (at least modelPrefixBytes of them, or the whole file if shorter). Every failure is a CheckpointError naming source.
 */
export function parseModelPrefix(head: Uint8Array, fileBytes: number, source: string): ModelFilePrefix {
  if (fileBytes < 16) throw corrupt(source, `file is ${fileBytes} bytes, too short (truncated?)`);
  const magic = new TextDecoder().decode(head.subarray(0, 4));
  if (magic !== MODEL_FILE_MAGIC) {
    // A data file given where the model goes (`eval data.gz model.bhm`) showed its raw bytes: name what it is.
    const what = head[0] === 0x1f && head[1] === 0x8b ? 'this is gzip data (a compressed data file?), not a model file' : null;
    throw corrupt(source, what ?? `wrong magic '${JSON.stringify(magic).slice(1, -1)}' (expected '${MODEL_FILE_MAGIC}')`);
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = dv.getUint32(4, true);
  if (!MODEL_FILE_VERSIONS.includes(version)) {
    throw new CheckpointError(
      'checkpoint.version',
      `${source}: model file format version ${version} is not supported (this bhembed reads versions ${MODEL_FILE_VERSIONS.join(' and ')})`,
      { file: source, version },
    );
  }
  const headerLen = dv.getUint32(8, true);
  if (12 + headerLen + 4 > fileBytes || head.length < 12 + headerLen) throw corrupt(source, `header says ${headerLen} bytes but the file has ${fileBytes} (truncated)`);
  let header: ModelFileHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(12, 12 + headerLen))) as ModelFileHeader;
  } catch {
    throw corrupt(source, 'header is not valid JSON (corrupt)');
  }
  if (header === null || typeof header !== 'object' || header.format !== 'bhembed-model' || !Array.isArray(header.tensors)) {
    throw corrupt(source, 'header lacks format/tensors (corrupt)');
  }
  const dataStart = align8(12 + headerLen);
  let dataEnd = 0;
  for (const e of header.tensors) {
    const width = e.dtype === 'float16' ? 2 : e.dtype === 'float32' ? 4 : 0;
    const count = Array.isArray(e.shape) ? e.shape.reduce((a, b) => a * b, 1) : NaN;
    // (offsets a multiple of the value width: pieces of a multiple of 8 bytes never split a value)
    if (!width || !Number.isInteger(e.offset) || e.offset < 0 || e.offset % width !== 0 || e.bytes !== count * width) {
      throw corrupt(source, `tensor '${String(e.name)}' has an invalid directory entry (corrupt)`);
    }
    dataEnd = Math.max(dataEnd, e.offset + e.bytes);
  }
  const expected = dataStart + align8(dataEnd) + 4;
  if (fileBytes < expected) throw corrupt(source, `file is ${fileBytes} bytes, expected ${expected} (truncated)`);
  if (fileBytes > expected) throw corrupt(source, `file is ${fileBytes} bytes, expected ${expected} (trailing data)`);
  return { version, header, dataStart };
}

/** Empty float32 tensors for a header's directory, filled by fillTensors piece by piece. */
export function emptyTensors(header: ModelFileHeader): NamedTensor[] {
  return header.tensors.map((e) => ({ name: e.name, shape: [...e.shape], data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)) }));
}

/** Decode the data-section bytes [at, at + piece.length) (at and the length multiples of 8) into the tensors they hold. */
export function fillTensors(header: ModelFileHeader, tensors: NamedTensor[], piece: Uint8Array, at: number): void {
  const dv = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
  const end = at + piece.length;
  header.tensors.forEach((e, i) => {
    const lo = Math.max(at, e.offset);
    const hi = Math.min(end, e.offset + e.bytes);
    if (lo >= hi) return;
    const data = tensors[i].data;
    if (e.dtype === 'float32') for (let p = lo; p < hi; p += 4) data[(p - e.offset) / 4] = dv.getFloat32(p - at, true);
    else for (let p = lo; p < hi; p += 2) data[(p - e.offset) / 2] = fromHalf(dv.getUint16(p - at, true));
  });
}

/** Parse and verify bytes written by encodeModelFile. `source` names the file in error messages. */
export function decodeModelFile(bytes: Uint8Array, source = '<bytes>'): ModelFileContents {
  const { version, header, dataStart } = parseModelPrefix(bytes, bytes.length, source);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = dv.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes, 0, bytes.length - 4);
  if (stored !== actual) throw checksumMismatch(source, stored, actual);
  const tensors = emptyTensors(header);
  fillTensors(header, tensors, bytes.subarray(dataStart, bytes.length - 4), 0);
  return { version, createdAt: header.createdAt, model: header.model, meta: header.meta ?? {}, tensors };
}

export function checksumMismatch(source: string, stored: number, actual: number): CheckpointError {
  return corrupt(source, `checksum mismatch (stored ${hex8(stored)}, computed ${hex8(actual)}): the file is corrupt`);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

