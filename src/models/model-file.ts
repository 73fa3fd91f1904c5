// The `.bhm` model file on disk: reading (verified, IoError naming the file) and atomic writing. The format itself,
// bytes in and out, is model-codec.ts; everything it exports is re-exported here for the existing importers.

import { recordWritten, trackPartial, untrackPartial } from '../core/cleanup.js';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../core/errors.js';
import { decodeModelFile, encodeModelFile, type EncodeOptions, type ModelFileContents, type ModelFileHeader, type NamedTensor } from './model-codec.js';

export * from './model-codec.js';

/** Only the JSON header (plus sizes), verified like decodeModelFile; for `inspect`. */
export function readModelFileHeader(path: string): { header: ModelFileHeader; fileBytes: number } {
  const bytes = readBytes(path);
  decodeModelFile(bytes, path);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen))) as ModelFileHeader;
  return { header, fileBytes: bytes.length };
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IoError(`${path}: model file not found`, { file: path });
    if (code === 'EISDIR') throw new IoError(`${path}: is a directory, expected a model file`, { file: path });
    throw new IoError(`${path}: cannot read model file (${code ?? String(e)})`, { file: path });
  }
}

/** Read and verify a model file from disk. */
export function readModelFile(path: string): ModelFileContents {
  return decodeModelFile(readBytes(path), path);
}

/**
 * Write bytes atomically: a temp file in the same folder, fsync, then rename over `path`. A crash leaves either
 * the old file or the new one, never half of one; the temp file is removed on failure.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd = -1;
  trackPartial(tmp, `${path} (temporary ${tmp})`);
  try {
    fd = openSync(tmp, 'wx');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
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
    const code = (e as NodeJS.ErrnoException).code;
    throw new IoError(`${path}: cannot write (${code ?? String(e)})`, { file: path });
  }
}

/** encodeModelFile + writeFileAtomic. Returns the file size in bytes. */
export function writeModelFile(path: string, model: unknown, meta: Record<string, unknown>, tensors: NamedTensor[], opts: EncodeOptions = {}): number {
  const bytes = encodeModelFile(model, meta, tensors, opts);
  writeFileAtomic(path, bytes);
  return bytes.length;
}
