// A tiny Parquet writer for tests only (no Parquet writer is installed): PLAIN encoding, no compression, one data
// page per column chunk, several row groups, REQUIRED or OPTIONAL (null) columns of int32/int64/double/string.
// Thrift compact protocol written by hand, after the parquet-format spec.

export type ParquetColumnType = 'int32' | 'int64' | 'double' | 'string';

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
  /** null allowed (OPTIONAL with definition levels). */
  values: (number | bigint | string | null)[];
}

class Bytes {
  private buf = new Uint8Array(1024);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b & 255;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u32le(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  varint(v: bigint): void {
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  out(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Thrift compact struct writer. */
class Struct {
  private last = 0;
  constructor(private readonly b: Bytes) {}
  private header(id: number, type: number): void {
    const d = id - this.last;
    if (d > 0 && d <= 15) this.b.byte((d << 4) | type);
    else {
      this.b.byte(type);
      this.b.varint(zigzag(BigInt(id)));
    }
    this.last = id;
  }
  i32(id: number, v: number): this {
    this.header(id, 5);
    this.b.varint(zigzag(BigInt(v)));
    return this;
  }
  i64(id: number, v: number | bigint): this {
    this.header(id, 6);
    this.b.varint(zigzag(BigInt(v)));
    return this;
  }
  str(id: number, s: string): this {
    this.header(id, 8);
    const e = new TextEncoder().encode(s);
    this.b.varint(BigInt(e.length));
    this.b.bytes(e);
    return this;
  }
  struct(id: number, fill: (s: Struct) => void): this {
    this.header(id, 12);
    const s = new Struct(this.b);
    fill(s);
    s.end();
    return this;
  }
  list(id: number, elemType: number, items: ((b: Bytes) => void)[]): this {
    this.header(id, 9);
    if (items.length < 15) this.b.byte((items.length << 4) | elemType);
    else {
      this.b.byte(0xf0 | elemType);
      this.b.varint(BigInt(items.length));
    }
    for (const it of items) it(this.b);
    return this;
  }
  end(): void {
    this.b.byte(0);
  }
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v << 1n : (-v << 1n) - 1n;
}

const TYPE_CODE: Record<ParquetColumnType, number> = { int32: 1, int64: 2, double: 5, string: 6 };

function encodeValues(col: ParquetColumn, from: number, to: number): Uint8Array {
  const b = new Bytes();
  const optional = col.values.some((v) => v === null);
  if (optional) {
    // definition levels: bit-packed run, bit width 1, groups of 8, prefixed by the byte length
    const n = to - from;
    const groups = Math.ceil(n / 8);
    const lv = new Bytes();
    lv.varint(BigInt((groups << 1) | 1));
    for (let g = 0; g < groups; g++) {
      let byte = 0;
      for (let k = 0; k < 8; k++) {
        const i = from + 8 * g + k;
        if (i < to && col.values[i] !== null) byte |= 1 << k;
      }
      lv.byte(byte);
    }
    const lvb = lv.out();
    b.u32le(lvb.length);
    b.bytes(lvb);
  }
  for (let i = from; i < to; i++) {
    const v = col.values[i];
    if (v === null) continue;
    const dv = new DataView(new ArrayBuffer(8));
    if (col.type === 'int32') {
      dv.setInt32(0, Number(v), true);
      b.bytes(new Uint8Array(dv.buffer, 0, 4));
    } else if (col.type === 'int64') {
      dv.setBigInt64(0, BigInt(v), true);
      b.bytes(new Uint8Array(dv.buffer));
    } else if (col.type === 'double') {
      dv.setFloat64(0, Number(v), true);
      b.bytes(new Uint8Array(dv.buffer));
    } else {
      const e = new TextEncoder().encode(String(v));
      b.u32le(e.length);
      b.bytes(e);
    }
  }
  return b.out();
}

/** A complete Parquet file with the given columns, split into row groups of rowGroupSize rows. */
export function writeParquet(columns: ParquetColumn[], rowGroupSize: number): Uint8Array {
  const rows = columns[0].values.length;
  const file = new Bytes();
  file.bytes(new TextEncoder().encode('PAR1'));
  const groups: { start: number; n: number; chunks: { offset: number; size: number; values: number }[] }[] = [];
  for (let start = 0; start < rows; start += rowGroupSize) {
    const n = Math.min(rowGroupSize, rows - start);
    const chunks = [];
    for (const col of columns) {
      const data = encodeValues(col, start, start + n);
      const offset = file.length;
      const ph = new Bytes();
      new Struct(ph)
        .i32(1, 0)
        .i32(2, data.length)
        .i32(3, data.length)
        .struct(5, (s) => s.i32(1, n).i32(2, 0).i32(3, 3).i32(4, 3))
        .end();
      file.bytes(ph.out());
      file.bytes(data);
      chunks.push({ offset, size: file.length - offset, values: n });
    }
    groups.push({ start, n, chunks });
  }
  const meta = new Bytes();
  const m = new Struct(meta);
  m.i32(1, 1);
  m.list(2, 12, [
    (b) => {
      const s = new Struct(b);
      s.str(4, 'schema').i32(5, columns.length).end();
    },
    ...columns.map((col) => (b: Bytes) => {
      const s = new Struct(b);
      s.i32(1, TYPE_CODE[col.type]).i32(3, col.values.some((v) => v === null) ? 1 : 0).str(4, col.name);
      if (col.type === 'string') s.i32(6, 0);
      s.end();
    }),
  ]);
  m.i64(3, rows);
  m.list(
    4,
    12,
    groups.map((g) => (b: Bytes) => {
      const rg = new Struct(b);
      rg.list(
        1,
        12,
        g.chunks.map((c, k) => (bb: Bytes) => {
          const cc = new Struct(bb);
          cc.i64(2, c.offset);
          cc.struct(3, (md) => {
            md.i32(1, TYPE_CODE[columns[k].type]);
            md.list(2, 5, [(x) => x.varint(zigzag(0n)), (x) => x.varint(zigzag(3n))]);
            md.list(3, 8, [
              (x) => {
                const e = new TextEncoder().encode(columns[k].name);
                x.varint(BigInt(e.length));
                x.bytes(e);
              },
            ]);
            md.i32(4, 0).i64(5, c.values).i64(6, c.size).i64(7, c.size).i64(9, c.offset);
          });
          cc.end();
        }),
      );
      rg.i64(2, g.chunks.reduce((s, c) => s + c.size, 0)).i64(3, g.n);
      rg.end();
    }),
  );
  m.end();
  const mb = meta.out();
  file.bytes(mb);
  file.u32le(mb.length);
  file.bytes(new TextEncoder().encode('PAR1'));
  return file.out();
}
