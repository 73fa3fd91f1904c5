// Splits a byte stream into lines without decoding text: batches of (start, end) bounds into the read block, with
// per-line flags for the three ways a line can be unusable before parsing (too long, NUL byte, invalid UTF-8).
// Native memchr (indexOf) and isUtf8 do the scanning; a '\r' before '\n' is dropped.

import { isUtf8 } from 'node:buffer';

export const LINE_OK = 0;
export const LINE_TOO_LONG = 1;
export const LINE_NUL = 2;
export const LINE_BAD_UTF8 = 3;

export interface LineBatch {
  buf: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  /** LINE_OK or one of the LINE_* problems, per line. */
  flags: Uint8Array;
  count: number;
  /** 1-based number of the first line in this batch. */
  firstLine: number;
}

/** bzip2, xz or zstd by their magic bytes (gzip never reaches here: it is inflated on the fly), else null. */
export function otherCompression(head: Uint8Array): string | null {
  // 'BZh' + block size '1'..'9' + the block magic 31 41 59 26 53 59 (π), so a text header such as 'BZhash,…' is not taken for bzip2
  const BZ_BLOCK = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
  if (head.length >= 10 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && head[3] >= 0x31 && head[3] <= 0x39 && BZ_BLOCK.every((b, i) => head[4 + i] === b)) {
    return 'bzip2';
  }
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return null;
}

/** The first complete bytes looked like a binary file (NUL bytes) or another container format. */
export function sniffBinary(head: Uint8Array): string | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) {
    return 'this is a Parquet file (magic PAR1), not text; use format "parquet"';
  }
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return 'this is a ZIP archive, not text; unzip it first (gzip is read directly)';
  }
  const other = otherCompression(head);
  if (other !== null) return `this is ${other}-compressed data; decompress it first (gzip is read directly)`;
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return 'this is UTF-16 text (byte-order mark FF FE or FE FF); convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8';
  }
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) if (head[i] === 0) return 'binary data (NUL byte) where text was expected';
  return null;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
}

/**
 * Lines of a block stream. A line longer than maxLineBytes is reported once (flag LINE_TOO_LONG, empty bounds)
 * and its bytes are dropped up to the next newline, so memory stays bounded.
 */
export async function* splitLines(blocks: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<LineBatch> {
  let carry: Buffer | null = null; // bytes of an unfinished line
  let dropping = false; // inside an over-long line
  let lineNo = 1;
  let cap = 1024;
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let flags = new Uint8Array(cap);

  const ensure = (n: number): void => {
    if (n <= cap) return;
    while (cap < n) cap *= 2;
    const s = new Int32Array(cap);
    const e = new Int32Array(cap);
    const f = new Uint8Array(cap);
    s.set(starts);
    e.set(ends);
    f.set(flags);
    starts = s;
    ends = e;
    flags = f;
  };

  for await (const raw of blocks) {
    let buf = toBuffer(raw);
    let count = 0;
    let pos = 0;
    // Finish the carried line first (join only that line, not the whole block).
    if (carry !== null || dropping) {
      const nl = buf.indexOf(10);
      if (nl === -1) {
        if (!dropping) {
          if (carry!.length + buf.length > maxLineBytes) {
            dropping = true;
            carry = null;
          } else {
            carry = Buffer.concat([carry!, buf]);
          }
        }
        continue;
      }
      ensure(1);
      if (dropping) {
        starts[0] = 0;
        ends[0] = 0;
        flags[0] = LINE_TOO_LONG;
        dropping = false;
        carry = null;
        pos = nl + 1;
        const b = { buf, starts, ends, flags, count: 1, firstLine: lineNo };
        lineNo++;
        yield b;
      } else {
        const line: Buffer = Buffer.concat([carry!, buf.subarray(0, nl)]);
        carry = null;
        let e = line.length;
        if (e > 0 && line[e - 1] === 13) e--;
        starts[0] = 0;
        ends[0] = e;
        flags[0] = e > maxLineBytes ? LINE_TOO_LONG : lineFlag(line, 0, e);
        const b = { buf: line as Uint8Array, starts, ends, flags, count: 1, firstLine: lineNo };
        lineNo++;
        pos = nl + 1;
        yield b;
      }
    }
    // Whole lines inside this block.
    const last = buf.lastIndexOf(10);
    const firstLine = lineNo;
    if (last >= pos) {
      const region = buf.subarray(pos, last);
      const suspicious = region.indexOf(0) !== -1 || !isUtf8(region);
      let p = pos;
      while (p <= last) {
        const nl = buf.indexOf(10, p);
        ensure(count + 1);
        let e = nl;
        if (e > p && buf[e - 1] === 13) e--;
        starts[count] = p;
        ends[count] = e;
        flags[count] = e - p > maxLineBytes ? LINE_TOO_LONG : suspicious ? lineFlag(buf, p, e) : LINE_OK;
        count++;
        p = nl + 1;
      }
      lineNo += count;
      pos = last + 1;
    }
    if (pos < buf.length) {
      const rest = buf.length - pos;
      if (rest > maxLineBytes) dropping = true;
      else carry = Buffer.from(buf.subarray(pos)); // copy: the block may be reused by the stream
    }
    if (count > 0) yield { buf, starts, ends, flags, count, firstLine };
    buf = null as unknown as Buffer;
  }
  // Last line without a trailing newline.
  if (dropping) {
    ensure(1);
    starts[0] = 0;
    ends[0] = 0;
    flags[0] = LINE_TOO_LONG;
    yield { buf: new Uint8Array(0), starts, ends, flags, count: 1, firstLine: lineNo };
  } else if (carry !== null && carry.length > 0) {
    ensure(1);
    let e = carry.length;
    if (e > 0 && carry[e - 1] === 13) e--;
    starts[0] = 0;
    ends[0] = e;
    flags[0] = lineFlag(carry, 0, e);
    yield { buf: carry, starts, ends, flags, count: 1, firstLine: lineNo };
  }
}

function lineFlag(buf: Buffer, s: number, e: number): number {
  const line = buf.subarray(s, e);
  if (line.indexOf(0) !== -1) return LINE_NUL;
  if (!isUtf8(line)) return LINE_BAD_UTF8;
  return LINE_OK;
}

export function lineFlagReason(flag: number, maxLineBytes: number): { kind: string; reason: string } {
  if (flag === LINE_TOO_LONG) return { kind: 'line-too-long', reason: `line longer than ${maxLineBytes} bytes` };
  if (flag === LINE_NUL) return { kind: 'binary', reason: 'binary data (NUL byte) where text was expected' };
  return { kind: 'encoding', reason: 'invalid UTF-8 where text was expected' };
}
