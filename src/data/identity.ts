// What identifies a data file for resuming work on it (sweep and demo cells): its size, modification time and a hash
// of its first MiB. A file regenerated or replaced under the same path (demo --quick, then demo) changes at least one
// of them, so results trained on the old contents are not reused (paths alone were compared before).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { idToBigInt } from '../core/ids.js';
import { xxh64Bytes } from '../hash/xxh64.js';
import { ioFromErrno } from './source.js';

export const IDENTITY_HEAD_BYTES = 1 << 20;

export interface FileIdentity {
  bytes: number;
  /** Modification time, ms since the epoch (integer). */
  mtimeMs: number;
  /** XXH64 (seed 0, hex) of the first IDENTITY_HEAD_BYTES bytes. */
  head: string;
}

/** The identity of a regular file; stdin ('-') has none (null). IoError when it cannot be read. */
export function fileIdentity(path: string): FileIdentity | null {
  if (path === '-') return null;
  try {
    const st = statSync(path);
    const fd = openSync(path, 'r');
    const buf = new Uint8Array(Math.min(IDENTITY_HEAD_BYTES, st.size));
    let n = 0;
    try {
      while (n < buf.length) {
        const k = readSync(fd, buf, n, buf.length - n, n);
        if (k === 0) break;
        n += k;
      }
    } finally {
      closeSync(fd);
    }
    const out = new Uint32Array(2);
    xxh64Bytes(buf, 0, n, 0, out, 0);
    return { bytes: st.size, mtimeMs: Math.floor(st.mtimeMs), head: idToBigInt(out, 0).toString(16).padStart(16, '0') };
  } catch (e) {
    throw ioFromErrno(path, e);
  }
}
