// The `.bhm` model file on disk: reading (verified, IoError naming the file) and atomic writing. The format itself,
// bytes in and out, is model-codec.ts; everything it exports is re-exported here for the existing importers.

import { recordWritten, trackPartial, untrackPartial } from '../core/cleanup.js';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IoError, isBhembedError } from '../core/errors.js';
import {
  checksumMismatch,
  crc32Final,
  crc32Update,
  CRC32_INIT,
  emptyTensors,
  fillTensors,
  MODEL_FILE_PIECE_BYTES,
  modelFileData,
  modelFileLayout,
  modelPrefixBytes,
  parseModelPrefix,
  type EncodeOptions,
  type ModelFileContents,
  type ModelFileHeader,
  type ModelFileLayout,
  type ModelFilePrefix,
  type NamedTensor,
} from './model-codec.js';

export * from './model-codec.js';

/** Only the JSON header (plus sizes), verified like decodeModelFile (the whole file's CRC); for `inspect`. */
export function readModelFileHeader(path: string): { header: ModelFileHeader; fileBytes: number } {
  let header: ModelFileHeader | null = null;
  let fileBytes = 0;
  readModelPieces(path, (p, size) => {
    header = p.header;
    fileBytes = size;
    return null;
  });
  return { header: header as unknown as ModelFileHeader, fileBytes };
}

function openFailure(path: string, e: unknown, what: string): IoError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new IoError(`${path}: ${what} not found`, { file: path });
  if (code === 'EISDIR') return new IoError(`${path}: is a directory, expected a ${what}`, { file: path });
  return new IoError(`${path}: cannot read ${what} (${code ?? String(e)})`, { file: path });
}

/** Bytes [pos, pos + n) of an open file (positional reads: no limit on the file's size). */
export function readAt(fd: number, pos: number, n: number, into?: Uint8Array): Uint8Array {
  const out = into !== undefined && into.length >= n ? into.subarray(0, n) : new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = readSync(fd, out, got, n - got, pos + got);
    if (k === 0) break;
    got += k;
  }
  return got === n ? out : out.subarray(0, got);
}

/**
 * Read a model file of any size in pieces (positional reads, never the whole file in one buffer): its prefix is
 * checked (parseModelPrefix), then `onTensors` may ask for the tensors (null: header only); every byte goes through
 * the CRC-32, checked at the end. `base`/`length`: a model container inside another file (a checkpoint's payload).
 */
export function readModelPieces(
  path: string,
  onPrefix: (p: ModelFilePrefix, fileBytes: number) => NamedTensor[] | null,
  opts: { pieceBytes?: number; base?: number; length?: number; fd?: number; onBytes?: (piece: Uint8Array) => void } = {},
): ModelFileContents {
  const pieceBytes = opts.pieceBytes ?? MODEL_FILE_PIECE_BYTES;
  let fd = opts.fd ?? -1;
  try {
    if (fd < 0) fd = openSync(path, 'r');
    const base = opts.base ?? 0;
    const size = opts.length ?? fstatSync(fd).size - base;
    const first = readAt(fd, base, Math.min(12, size));
    const head = size < 16 ? first : readAt(fd, base, Math.min(size, modelPrefixBytes(first)));
    const prefix = parseModelPrefix(head, size, path);
    const tensors = onPrefix(prefix, size);
    let crc = crc32Update(CRC32_INIT, head);
    opts.onBytes?.(head);
    // The padding up to the data, then the data in pieces of a multiple of 8 bytes from its start.
    const gap = readAt(fd, base + head.length, prefix.dataStart - head.length);
    crc = crc32Update(crc, gap);
    opts.onBytes?.(gap);
    const dataBytes = size - 4 - prefix.dataStart;
    const buf = new Uint8Array(Math.min(pieceBytes, Math.max(8, dataBytes)));
    for (let at = 0; at < dataBytes; ) {
      const piece = readAt(fd, base + prefix.dataStart + at, Math.min(buf.length, dataBytes - at), buf);
      if (piece.length === 0) throw new IoError(`${path}: the file got shorter while it was read`, { file: path });
      crc = crc32Update(crc, piece);
      opts.onBytes?.(piece);
      if (tensors !== null) fillTensors(prefix.header, tensors, piece, at);
      at += piece.length;
    }
    const tail = readAt(fd, base + size - 4, 4);
    opts.onBytes?.(tail);
    const stored = new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true);
    if (stored !== crc32Final(crc)) throw checksumMismatch(path, stored, crc32Final(crc));
    const h = prefix.header;
    return { version: prefix.version, createdAt: h.createdAt, model: h.model, meta: h.meta ?? {}, tensors: tensors ?? [] };
  } catch (e) {
    if (isBhembedError(e)) throw e;
    throw openFailure(path, e, 'model file');
  } finally {
    if (fd >= 0 && opts.fd === undefined) closeSync(fd);
  }
}

/** Read and verify a model file from disk (in pieces: any size). */
export function readModelFile(path: string, opts: { pieceBytes?: number } = {}): ModelFileContents {
  return readModelPieces(path, (p) => emptyTensors(p.header), opts);
}

/**
 * Write a file atomically: a temp file in the same folder, written by `write` (called with a function that appends
 * bytes), fsync, then rename over `path`. A crash leaves either the old file or the new one, never half of one; the
 * temp file is removed on failure.
 */
export function writeFileAtomicWith(path: string, write: (append: (bytes: Uint8Array) => void) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd = -1;
  trackPartial(tmp, `${path} (temporary ${tmp})`);
  try {
    fd = openSync(tmp, 'wx');
    const f = fd;
    write((bytes) => {
      let off = 0;
      while (off < bytes.length) off += writeSync(f, bytes, off, bytes.length - off);
    });
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    untrackPartial(tmp);
    recordWritten(path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    untrackPartial(tmp);
    if (isBhembedError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new IoError(`${path}: cannot write (${code ?? String(e)})`, { file: path });
  }
}

/** Write bytes atomically (writeFileAtomicWith). */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  writeFileAtomicWith(path, (append) => append(bytes));
}

/**
 * A model file's bytes in order, in pieces (prefix, data pieces, CRC-32): never the whole file in one buffer.
 * `append` gets each piece (a reused buffer: use it at once).
 */
export function writeModelPieces(layout: ModelFileLayout, tensors: NamedTensor[], append: (bytes: Uint8Array) => void, pieceBytes = MODEL_FILE_PIECE_BYTES): void {
  let crc = crc32Update(CRC32_INIT, layout.prefix);
  append(layout.prefix);
  for (const piece of modelFileData(tensors, layout, pieceBytes)) {
    crc = crc32Update(crc, piece);
    append(piece);
  }
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, crc32Final(crc), true);
  append(tail);
}

/** Write a model file atomically, in pieces (any size). Returns the file size in bytes. */
export function writeModelFile(path: string, model: unknown, meta: Record<string, unknown>, tensors: NamedTensor[], opts: EncodeOptions & { pieceBytes?: number } = {}): number {
  const layout = modelFileLayout(model, meta, tensors, opts);
  writeFileAtomicWith(path, (append) => writeModelPieces(layout, tensors, append, opts.pieceBytes));
  return layout.total;
}
