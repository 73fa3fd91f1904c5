// A request body `{"instances": [{…}, …]}` (UTF-8 bytes) → the lines a RowEncoder writes for its rows, without
// building JS objects: the common shape (ASCII field names, plain strings and integers, null) is scanned byte by byte
// and each instance's values are copied into its line as they are. Anything else (escapes, non-ASCII, floats, lists,
// booleans, an error of any kind) returns null, and the caller takes the JSON.parse path, which gives the answer and
// the error message. This file never hashes: lines go to the reader's own LineParser, as RowEncoder's do.

import { DataError } from '../core/errors.js';

/** A body that is not a valid request as a whole (not an instance's value): the message says why. */
export class BodyError extends DataError {
  constructor(
    message: string,
    /** The instance the message names, if any. */
    readonly instance?: number,
    /** 'malformed_json': not JSON at all; 'invalid': JSON of the wrong shape. */
    readonly kind: 'malformed_json' | 'invalid' = 'invalid',
  ) {
    super(message, { reason: message, instance });
  }
}

/** What the scanner needs of a delimited row layout. */
export interface ScanLayout {
  /** Cells per line and the byte that joins them. */
  cells: number;
  delim: number;
  /** Input name → cell; ignored names → -1. Names not here are unknown (the slow path says so). */
  names: ReadonlyMap<string, number>;
  /** Cells that may not be blank (the slow path names them). */
  required: readonly number[];
  maxValueLength: number;
}

const enum C {
  QUOTE = 0x22,
  COMMA = 0x2c,
  MINUS = 0x2d,
  COLON = 0x3a,
  LBRACKET = 0x5b,
  BACKSLASH = 0x5c,
  RBRACKET = 0x5d,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  ZERO = 0x30,
  NINE = 0x39,
}

const INSTANCES = new TextEncoder().encode('"instances"');

/**
 * Scans bodies of one layout. `onLine(line, length, instance)` gets each instance's line (the buffer is reused) and
 * returns false when the parser refuses it; scan() then returns null, as for any shape it does not take.
 */
export class JsonRowScanner {
  private readonly table: Int32Array;
  private readonly keys: Uint8Array[];
  private readonly keyCells: number[];
  private readonly mask: number;
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private line = new Uint8Array(1024);

  constructor(private readonly L: ScanLayout) {
    let size = 16;
    while (size < 4 * L.names.size) size *= 2;
    this.mask = size - 1;
    this.table = new Int32Array(size).fill(-1);
    this.keys = [];
    this.keyCells = [];
    const enc = new TextEncoder();
    for (const [name, cell] of L.names) {
      const bytes = enc.encode(name);
      let h = hashBytes(bytes, 0, bytes.length) & this.mask;
      while (this.table[h] !== -1) h = (h + 1) & this.mask;
      this.table[h] = this.keys.length;
      this.keys.push(bytes);
      this.keyCells.push(cell);
    }
    this.start = new Int32Array(L.cells);
    this.end = new Int32Array(L.cells);
  }

  /** The number of instances, each handed to onLine in order; null: not the simple shape (use JSON.parse). */
  scan(b: Uint8Array, maxInstances: number, onLine: (line: Uint8Array, length: number, instance: number) => boolean): number | null {
    const n = b.length;
    let p = ws(b, 0);
    if (b[p] !== C.LBRACE) return null;
    p = ws(b, p + 1);
    for (let k = 0; k < INSTANCES.length; k++) if (b[p + k] !== INSTANCES[k]) return null;
    p = ws(b, p + INSTANCES.length);
    if (b[p] !== C.COLON) return null;
    p = ws(b, p + 1);
    if (b[p] !== C.LBRACKET) return null;
    p = ws(b, p + 1);
    const { start, end, L } = this;
    const delim = L.delim;
    const maxLength = L.maxValueLength;
    start.fill(0);
    end.fill(0);
    let count = 0;
    for (;;) {
      if (b[p] !== C.LBRACE || count >= maxInstances) return null;
      p = ws(b, p + 1);
      if (b[p] === C.RBRACE) p++;
      else {
        for (;;) {
          // A key: ASCII, no escapes.
          if (b[p] !== C.QUOTE) return null;
          const k0 = p + 1;
          let q = k0;
          for (; q < n; q++) {
            const c = b[q];
            if (c === C.QUOTE) break;
            if (c === C.BACKSLASH || c < 0x20 || c >= 0x80) return null;
          }
          if (q >= n) return null;
          const cell = this.lookup(b, k0, q);
          if (cell === -2) return null; // unknown name: the slow path names it
          p = ws(b, q + 1);
          if (b[p] !== C.COLON) return null;
          p = ws(b, p + 1);
          const c = b[p];
          let v0: number;
          let v1: number;
          if (c === C.QUOTE) {
            v0 = p + 1;
            q = v0;
            for (; q < n; q++) {
              const x = b[q];
              if (x === C.QUOTE) break;
              if (x === C.BACKSLASH || x < 0x20 || x >= 0x80 || x === delim) return null;
            }
            if (q >= n) return null;
            v1 = q;
            p = q + 1;
          } else if (c === 0x6e) {
            // null: a missing value
            if (b[p + 1] !== 0x75 || b[p + 2] !== 0x6c || b[p + 3] !== 0x6c) return null;
            v0 = v1 = 0;
            p += 4;
          } else if (c === C.MINUS || (c >= C.ZERO && c <= C.NINE)) {
            // A number's text as it is, when it is what String(n) writes (the JSON.parse path's cell):
            // -?(0|[1-9][0-9]{0,14}) for integers; anything with a fraction or exponent is compared.
            v0 = p;
            q = c === C.MINUS ? p + 1 : p;
            const d0 = q;
            while (q < n && b[q] >= C.ZERO && b[q] <= C.NINE) q++;
            const digits = q - d0;
            const x = b[q];
            if (x === 0x2e || x === 0x65 || x === 0x45 || x === 0x2b || x === C.MINUS) {
              while (q < n && (isNumberByte(b[q]) || b[q] === C.MINUS)) q++;
              if (q - v0 > 32 || !canonical(b, v0, q)) return null;
            } else if (digits === 0 || digits > 15 || (b[d0] === C.ZERO && (digits > 1 || c === C.MINUS))) return null;
            v1 = q;
            p = q;
          } else return null; // true, false, an object or a list
          if (v1 - v0 > maxLength) return null;
          if (cell >= 0) {
            start[cell] = v0;
            end[cell] = v1;
          }
          p = ws(b, p);
          if (b[p] === C.COMMA) {
            p = ws(b, p + 1);
            continue;
          }
          if (b[p] !== C.RBRACE) return null;
          p++;
          break;
        }
      }
      for (let k = 0; k < L.required.length; k++) if (end[L.required[k]] === start[L.required[k]]) return null;
      if (!onLine(this.line, this.writeLine(b), count)) return null; // writeLine leaves every cell blank again
      count++;
      p = ws(b, p);
      if (b[p] === C.COMMA) {
        p = ws(b, p + 1);
        continue;
      }
      if (b[p] !== C.RBRACKET) return null;
      break;
    }
    p = ws(b, p + 1);
    if (b[p] !== C.RBRACE) return null;
    return ws(b, p + 1) === n ? count : null;
  }

  /** The line of the current instance's cells into this.line; returns its length. */
  private writeLine(b: Uint8Array): number {
    const { start, end } = this;
    let len = start.length;
    for (let c = 0; c < start.length; c++) len += end[c] - start[c];
    if (this.line.length < len) this.line = new Uint8Array(2 * len);
    const line = this.line;
    const delim = this.L.delim;
    let o = 0;
    for (let c = 0; c < start.length; c++) {
      if (c > 0) line[o++] = delim;
      for (let i = start[c], e = end[c]; i < e; i++) line[o++] = b[i];
      start[c] = end[c] = 0;
    }
    return o;
  }

  /** Cell of the name b[k0, k1): ≥ 0 an input, -1 ignored, -2 unknown. */
  private lookup(b: Uint8Array, k0: number, k1: number): number {
    let h = hashBytes(b, k0, k1) & this.mask;
    for (;;) {
      const e = this.table[h];
      if (e === -1) return -2;
      const key = this.keys[e];
      if (key.length === k1 - k0) {
        let same = true;
        for (let i = 0; i < key.length; i++) {
          if (key[i] !== b[k0 + i]) {
            same = false;
            break;
          }
        }
        if (same) return this.keyCells[e];
      }
      h = (h + 1) & this.mask;
    }
  }
}

function ws(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
}

function isNumberByte(c: number): boolean {
  return (c >= C.ZERO && c <= C.NINE) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b;
}

/** b[s, e) is a number as String(n) writes it (so also valid JSON: "1.5", "1e+21", not "1.50", "1.", "-0"). */
function canonical(b: Uint8Array, s: number, e: number): boolean {
  let t = '';
  for (let i = s; i < e; i++) t += String.fromCharCode(b[i]);
  return String(Number(t)) === t;
}

/** FNV-1a over b[s, e) (names only; nothing here is a feature hash). */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/**
 * The instances of a parsed body, its shape checked as the request schema states it: an object holding only an
 * 'instances' list of 1..maxInstances objects (each ≤ 4096 fields). Anything else is a BodyError saying what.
 */
export function bodyInstances(body: unknown, maxInstances: number): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BodyError('the body must be a JSON object {"instances": [...]}');
  if (!Object.hasOwn(body, 'instances')) throw new BodyError("the body must be a JSON object with an 'instances' list");
  for (const k of Object.keys(body)) if (k !== 'instances') throw new BodyError(`unknown key '${k}' in the body; it holds only 'instances'`);
  const list = (body as { instances: unknown }).instances;
  if (!Array.isArray(list)) throw new BodyError("'instances' must be a list of objects");
  if (list.length === 0) throw new BodyError("'instances' is empty: send at least one instance");
  if (list.length > maxInstances) throw new BodyError(`'instances' holds more than ${maxInstances} instances; split the request`);
  for (let i = 0; i < list.length; i++) {
    const x = list[i] as unknown;
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new BodyError(`instance ${i}: an instance must be a JSON object of field names to values`, i);
    if (Object.keys(x).length > 4096) throw new BodyError(`instance ${i}: too many fields`, i);
  }
  return list;
}
