// A minimal protobuf writer for the few ONNX messages ort.ts needs (one-node graphs with symbolic dims), so the
// onnxruntime seam needs no protobuf dependency and no model files on disk. Field numbers are from onnx.proto3.

/** Protobuf wire writer: varints, length-delimited fields and fixed32 floats. */
class Writer {
  private bytes: number[] = [];

  varint(v: number): this {
    // Non-negative values below 2^53 only (all ONNX fields used here are small).
    let x = v;
    while (x >= 0x80) {
      this.bytes.push((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.bytes.push(x);
    return this;
  }

  tag(field: number, wire: 0 | 2 | 5): this {
    return this.varint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const x of data) this.bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1; // AttributeProto.AttributeType
const ATTR_INT = 2;

/** A graph input/output: a float tensor whose dims are symbolic names (dim_param) or fixed sizes. */
export interface OnnxValue {
  name: string;
  dims: Array<string | number>;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, { int: number } | { float: number }>;
}

function valueInfo(w: Writer, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serializes a ModelProto (IR version 8, default-domain opset) holding one graph of the given nodes. */
export function encodeOnnxModel(graph: { name: string; nodes: OnnxNode[]; inputs: OnnxValue[]; outputs: OnnxValue[] }, opset = 13): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'bhembed'); // producer_name
  w.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, `${n.opType}_0`);
        node.string(4, n.opType);
        for (const [name, value] of Object.entries(n.attributes ?? {})) {
          node.message(5, (a) => {
            a.string(1, name);
            if ('int' in value) a.int(3, value.int).int(20, ATTR_INT);
            else a.float(2, value.float).int(20, ATTR_FLOAT);
          });
        }
      });
    }
    g.string(2, graph.name);
    for (const v of graph.inputs) g.message(11, (x) => valueInfo(x, v));
    for (const v of graph.outputs) g.message(12, (x) => valueInfo(x, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, opset)); // opset_import
  return w.finish();
}

/** Y = op(A)·op(B) as a single Gemm node with symbolic M, N, K (A is K×M when transA, B is N×K when transB). */
export function gemmModel(transA: boolean, transB: boolean): Uint8Array {
  return encodeOnnxModel({
    name: `gemm_${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
    nodes: [{ opType: 'Gemm', inputs: ['A', 'B'], outputs: ['Y'], attributes: { transA: { int: transA ? 1 : 0 }, transB: { int: transB ? 1 : 0 } } }],
    inputs: [
      { name: 'A', dims: transA ? ['K', 'M'] : ['M', 'K'] },
      { name: 'B', dims: transB ? ['N', 'K'] : ['K', 'N'] },
    ],
    outputs: [{ name: 'Y', dims: ['M', 'N'] }],
  });
}
