// Bytes of one input: a file (gzip detected by its magic bytes, not its name) or stdin ('-'), as a stream of
// blocks with bounded memory. Turns file-system failures into IoError with the path and the fix.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataError, IoError } from '../core/errors.js';

export const STDIN = '-';

/** Name used in messages: the path, or `<stdin>`. */
export function displayName(path: string): string {
  return path === STDIN ? '<stdin>' : path;
}

let stdinTaken = false;

/**
 * Throws IoError unless path is '-' or a readable regular file or named pipe (missing, directory, permissions).
 * Returns whether the input can be read only once (stdin, a pipe such as `<(zcat f.gz)`).
 */
export async function checkInput(path: string): Promise<{ once: boolean }> {
  if (path === STDIN) return { once: true };
  if (typeof path !== 'string' || path === '') throw new IoError('no input file given', { path });
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw ioFromErrno(path, e);
  }
  if (st.isDirectory()) throw new IoError(`${path}: is a directory, expected a data file`, { path });
  if (!st.isFile() && !st.isFIFO()) throw new IoError(`${path}: not a regular file`, { path });
  return { once: st.isFIFO() };
}

export function ioFromErrno(path: string, e: unknown): IoError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return new IoError(`${path}: no such file`, { path, errno: code });
  if (code === 'EACCES' || code === 'EPERM') return new IoError(`${path}: permission denied`, { path, errno: code });
  if (code === 'EISDIR') return new IoError(`${path}: is a directory, expected a data file`, { path, errno: code });
  return new IoError(`${path}: ${(e as Error).message ?? String(e)}`, { path, errno: code });
}

/** A failed write, phrased for an output (ENOENT on a write means the folder is missing, not the file). */
export function ioWriteError(path: string, e: unknown): IoError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new IoError(`${path}: cannot write: folder ${dirname(path)} does not exist`, { path, errno: code });
  if (code === 'EISDIR') return new IoError(`${path}: cannot write: it is a directory`, { path, errno: code });
  if (code === 'EACCES' || code === 'EPERM') return new IoError(`${path}: cannot write: permission denied`, { path, errno: code });
  if (code === 'ENOSPC') return new IoError(`${path}: cannot write: no space left on the device`, { path, errno: code });
  return new IoError(`${path}: cannot write (${(e as Error).message ?? String(e)})`, { path, errno: code });
}

/** Claim stdin for one pass; a second claim is an error (stdin cannot be rewound). */
export function takeStdin(): void {
  if (stdinTaken) {
    throw new IoError(
      '<stdin>: stdin can be read only once, but a second pass over the data was asked for; give a file path instead of "-"',
      { path: STDIN },
    );
  }
  stdinTaken = true;
}

/** For tests: let stdin be claimed again. */
export function resetStdinClaim(): void {
  stdinTaken = false;
}

async function* rawBlocks(path: string, blockBytes: number): AsyncGenerator<Uint8Array> {
  const stream: Readable = path === STDIN ? process.stdin : createReadStream(path, { highWaterMark: blockBytes });
  try {
    for await (const block of stream) yield block as Uint8Array;
  } catch (e) {
    if ((e as { code?: string }).code !== undefined) throw ioFromErrno(displayName(path), e);
    throw e;
  } finally {
    if (path !== STDIN) stream.destroy();
  }
}

export interface ByteStream {
  /** true when the input was gzip-compressed. */
  gzip: boolean;
  blocks: AsyncGenerator<Uint8Array>;
}

/**
 * Open one pass over the bytes of path. Gzip (1f 8b) is inflated on the fly, including multi-member files.
 * Caller must claim stdin (takeStdin) before opening '-'.
 */
export async function openBytes(path: string, blockBytes = 1 << 20): Promise<ByteStream> {
  const raw = rawBlocks(path, blockBytes);
  const first = await raw.next();
  if (first.done) return { gzip: false, blocks: empty() };
  const head = first.value;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    return { gzip: true, blocks: gunzipBlocks(displayName(path), head, raw) };
  }
  return { gzip: false, blocks: prepend(head, raw) };
}

async function* empty(): AsyncGenerator<Uint8Array> {}

async function* prepend(head: Uint8Array, rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield head;
    for (;;) {
      const n = await rest.next();
      if (n.done) return;
      yield n.value;
    }
  } finally {
    await rest.return(undefined);
  }
}

async function* gunzipBlocks(name: string, head: Uint8Array, rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  const gz = createGunzip();
  pipeline(Readable.from(prepend(head, rest), { objectMode: false }), gz, () => {
    /* errors surface through the iteration below */
  });
  try {
    for await (const block of gz) yield block as Uint8Array;
  } catch (e) {
    if (e instanceof IoError || e instanceof DataError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE' || /unexpected end|incorrect header|invalid/i.test(String((e as Error).message))) {
      throw new DataError(`${name}: corrupt or truncated gzip data (${(e as Error).message})`, { file: name });
    }
    throw e;
  } finally {
    gz.destroy();
  }
}
