// A minimal protobuf writer for the few ONNX messages bhembed writes: the small graphs ort.ts runs (symbolic dims,
// no model files on disk) and the whole-model graphs of src/export/. No protobuf dependency. Field numbers are from
// onnx.proto3.

import type { ActivationQuant } from './quantize.js';

/** Protobuf wire writer: varints, length-delimited fields and fixed32 floats. Large payloads are kept as chunks. */
class Writer {
  private bytes: number[] = [];
  private readonly parts: Uint8Array[] = [];
  private size = 0;

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

  /** An int64 field: negative values as their 64-bit two's complement (10 bytes), as protobuf encodes int64. */
  int64(field: number, v: bigint): this {
    this.tag(field, 0);
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    if (data.length < 256) {
      for (const x of data) this.bytes.push(x);
      return this;
    }
    this.flush();
    this.parts.push(data);
    this.size += data.length;
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

  private flush(): void {
    if (this.bytes.length === 0) return;
    this.parts.push(Uint8Array.from(this.bytes));
    this.size += this.bytes.length;
    this.bytes = [];
  }

  finish(): Uint8Array {
    this.flush();
    if (this.parts.length === 1) return this.parts[0];
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** TensorProto.DataType codes of the element types the graphs here use. */
const DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, uint64: 13 } as const;
export type OnnxElemType = keyof typeof DTYPE;
const ATTR_FLOAT = 1; // AttributeProto.AttributeType
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const ATTR_FLOATS = 6;

/** A graph input/output: a tensor whose dims are symbolic names (dim_param) or fixed sizes. */
export interface OnnxValue {
  name: string;
  dims: Array<string | number>;
  /** @default 'float' */
  type?: OnnxElemType;
}

/** A constant tensor stored in the model (ORT pre-packs constant GEMM operands, which graph inputs never get). */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | Int8Array | Uint8Array | Int32Array | Uint16Array | BigInt64Array | BigUint64Array;
  /** Element type; Uint16Array data means float16 bits. @default from the array type */
  type?: OnnxElemType;
}

function initializerType(t: OnnxInitializer): OnnxElemType {
  if (t.type !== undefined) return t.type;
  if (t.data instanceof Float32Array) return 'float';
  if (t.data instanceof Int8Array) return 'int8';
  if (t.data instanceof Uint8Array) return 'uint8';
  if (t.data instanceof Int32Array) return 'int32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof BigUint64Array) return 'uint64';
  return 'float16';
}

export interface OnnxNode {
  opType: string;
  /** Unique within the graph (ORT rejects duplicates). @default `${opType}_${index}` */
  name?: string;
  inputs: string[];
  outputs: string[];
  /** int64s: an INTS attribute of 64-bit values (e.g. hash ids as LabelEncoder keys). */
  attributes?: Record<string, { int: number } | { float: number } | { ints: number[] } | { int64s: BigInt64Array } | { floats: number[] } | { string: string }>;
  /** Operator domain ('' = ONNX; 'com.microsoft' = onnxruntime's contrib ops). @default '' */
  domain?: string;
}

function valueInfo(w: Writer, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DTYPE[v.type ?? 'float']);
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Where a graph's operators come from beyond the default domain, and free-form model metadata. */
export interface OnnxModelOptions {
  /** Extra operator sets, e.g. { 'ai.onnx.ml': 3 } for LabelEncoder. */
  domains?: Record<string, number>;
  /** ModelProto.metadata_props (key → value strings). */
  metadata?: Record<string, string>;
  /** ModelProto.doc_string. */
  doc?: string;
}

/**
 * Serializes a ModelProto (IR version 8, which opsets up to 18 need and every onnxruntime since 1.14 loads) holding
 * one graph of the given nodes.
 */
export function encodeOnnxModel(graph: { name: string; nodes: OnnxNode[]; inputs: OnnxValue[]; outputs: OnnxValue[]; initializers?: OnnxInitializer[] }, opset = 13, opts: OnnxModelOptions = {}): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'bhembed'); // producer_name
  if (opts.doc !== undefined) w.string(6, opts.doc);
  w.message(7, (g) => {
    graph.nodes.forEach((n, idx) => {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name ?? `${n.opType}_${idx}`);
        node.string(4, n.opType);
        if (n.domain !== undefined && n.domain !== '') node.string(7, n.domain);
        for (const [name, value] of Object.entries(n.attributes ?? {})) {
          node.message(5, (a) => {
            a.string(1, name);
            if ('int' in value) a.int64(3, BigInt(value.int)).int(20, ATTR_INT);
            else if ('string' in value) a.string(4, value.string).int(20, ATTR_STRING);
            else if ('ints' in value) {
              for (const v of value.ints) a.int64(8, BigInt(v));
              a.int(20, ATTR_INTS);
            } else if ('int64s' in value) {
              for (const v of value.int64s) a.int64(8, v);
              a.int(20, ATTR_INTS);
            } else if ('floats' in value) {
              for (const v of value.floats) a.float(7, v);
              a.int(20, ATTR_FLOATS);
            } else a.float(2, value.float).int(20, ATTR_FLOAT);
          });
        }
      });
    });
    g.string(2, graph.name);
    for (const t of graph.initializers ?? []) {
      g.message(5, (x) => {
        for (const d of t.dims) x.int(1, d);
        x.int(2, DTYPE[initializerType(t)]);
        x.string(8, t.name);
        // raw_data is little-endian, as typed arrays are on every platform Node runs on here.
        x.bytesField(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      });
    }
    for (const v of graph.inputs) g.message(11, (x) => valueInfo(x, v));
    for (const v of graph.outputs) g.message(12, (x) => valueInfo(x, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, opset)); // opset_import
  if (graph.nodes.some((n) => n.domain === 'com.microsoft')) w.message(8, (o) => o.string(1, 'com.microsoft').int(2, 1));
  for (const [domain, version] of Object.entries(opts.domains ?? {})) w.message(8, (o) => o.string(1, domain).int(2, version));
  for (const [key, value] of Object.entries(opts.metadata ?? {})) w.message(14, (m) => m.string(1, key).string(2, value));
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

/** One layer of a dense tower: y = x·W + b with W stored [inDim × outDim], then ReLU when relu. */
export interface TowerLayerSpec {
  inDim: number;
  outDim: number;
  relu: boolean;
}

/** Names of a tower forward graph's values: X input, W{i}/B{i} weights, H{i} layer outputs. */
export const towerNames = {
  w: (i: number): string => `W${i}`,
  b: (i: number): string => `B${i}`,
  h: (i: number): string => `H${i}`,
};

/**
 * The forward of a whole dense tower as one graph: H_i = act(H_{i−1}·W_i + B_i), H_{−1} = X (rows symbolic M).
 * allOutputs: every H_i is a graph output (training keeps them for the backward); else only the last one.
 */
export function towerForwardModel(layers: TowerLayerSpec[], allOutputs: boolean): Uint8Array {
  const n = towerNames;
  const nodes: OnnxNode[] = [];
  const inputs: OnnxValue[] = [{ name: 'X', dims: ['M', layers[0].inDim] }];
  const outputs: OnnxValue[] = [];
  let cur = 'X';
  layers.forEach((l, i) => {
    inputs.push({ name: n.w(i), dims: [l.inDim, l.outDim] }, { name: n.b(i), dims: [l.outDim] });
    // ORT fuses Gemm+Relu (ReLU in the GEMM epilogue) only when the ReLU output is not a graph output; the
    // training graph outputs every H_i, so it names the fused contrib op itself.
    if (l.relu && allOutputs) {
      nodes.push({ opType: 'FusedGemm', domain: 'com.microsoft', name: `gemm${i}`, inputs: [cur, n.w(i), n.b(i)], outputs: [n.h(i)], attributes: { activation: { string: 'Relu' } } });
    } else {
      const z = l.relu ? `Z${i}` : n.h(i);
      nodes.push({ opType: 'Gemm', name: `gemm${i}`, inputs: [cur, n.w(i), n.b(i)], outputs: [z] });
      if (l.relu) nodes.push({ opType: 'Relu', name: `relu${i}`, inputs: [z], outputs: [n.h(i)] });
    }
    cur = n.h(i);
    if (allOutputs || i === layers.length - 1) outputs.push({ name: n.h(i), dims: ['M', l.outDim] });
  });
  return encodeOnnxModel({ name: allOutputs ? 'tower_train' : 'tower_infer', nodes, inputs, outputs });
}

/**
 * The backward of one tower layer after its ReLU mask (applied by the caller): inputs A (layer input, M × in),
 * G (∂L/∂pre-activation, M × out) and, with inputGrad, W; outputs DW = Aᵀ·G, DB = Σ_rows G and GA = G·Wᵀ.
 */
export function towerLayerBackwardModel(inDim: number, outDim: number, inputGrad: boolean): Uint8Array {
  const nodes: OnnxNode[] = [
    { opType: 'Constant', name: 'axis0', inputs: [], outputs: ['AXIS0'], attributes: { value_ints: { ints: [0] } } },
    { opType: 'Gemm', name: 'dw', inputs: ['A', 'G'], outputs: ['DW'], attributes: { transA: { int: 1 } } },
    { opType: 'ReduceSum', name: 'db', inputs: ['G', 'AXIS0'], outputs: ['DB'], attributes: { keepdims: { int: 0 } } },
  ];
  const inputs: OnnxValue[] = [
    { name: 'A', dims: ['M', inDim] },
    { name: 'G', dims: ['M', outDim] },
  ];
  const outputs: OnnxValue[] = [
    { name: 'DW', dims: [inDim, outDim] },
    { name: 'DB', dims: [outDim] },
  ];
  if (inputGrad) {
    inputs.push({ name: 'W', dims: [inDim, outDim] });
    nodes.push({ opType: 'Gemm', name: 'dx', inputs: ['G', 'W'], outputs: ['GA'], attributes: { transB: { int: 1 } } });
    outputs.push({ name: 'GA', dims: ['M', inDim] });
  }
  return encodeOnnxModel({ name: 'tower_layer_backward', nodes, inputs, outputs });
}

/**
 * One whole training step of a tower whose last layer is a plain Linear to 1 (a logit), as one graph:
 *   Z = tower(X) + E   (E: the model's other logit terms);   G = S · (σ(Z) − Y)   (∂ of S·Σ bce(Z, Y))
 *   then the backward of every layer (ReLU mask as Where(H > 0, G, 0)): DW_i, DB_i and DX when inputGrad.
 * Inputs X, W_i, B_i, E, Y (M × 1), S (scalar); outputs Z, DW_i, DB_i (and DX). Intermediates stay inside ORT.
 */
export function towerStepModel(layers: TowerLayerSpec[], inputGrad: boolean): Uint8Array {
  const n = towerNames;
  const L = layers.length;
  const nodes: OnnxNode[] = [
    { opType: 'Constant', name: 'zero', inputs: [], outputs: ['ZERO'], attributes: { value_float: { float: 0 } } },
    { opType: 'Constant', name: 'axis0', inputs: [], outputs: ['AXIS0'], attributes: { value_ints: { ints: [0] } } },
  ];
  const inputs: OnnxValue[] = [{ name: 'X', dims: ['M', layers[0].inDim] }];
  let cur = 'X';
  layers.forEach((l, i) => {
    inputs.push({ name: n.w(i), dims: [l.inDim, l.outDim] }, { name: n.b(i), dims: [l.outDim] });
    const z = l.relu ? `Z${i}` : n.h(i);
    nodes.push({ opType: 'Gemm', name: `gemm${i}`, inputs: [cur, n.w(i), n.b(i)], outputs: [z] });
    if (l.relu) nodes.push({ opType: 'Relu', name: `relu${i}`, inputs: [z], outputs: [n.h(i)] });
    cur = n.h(i);
  });
  inputs.push({ name: 'E', dims: ['M', 1] }, { name: 'Y', dims: ['M', 1] }, { name: 'S', dims: [] });
  nodes.push(
    { opType: 'Add', name: 'logit', inputs: [cur, 'E'], outputs: ['Z'] },
    { opType: 'Sigmoid', name: 'sigmoid', inputs: ['Z'], outputs: ['P'] },
    { opType: 'Sub', name: 'residual', inputs: ['P', 'Y'], outputs: ['R'] },
    { opType: 'Mul', name: 'scale', inputs: ['R', 'S'], outputs: ['GTOP'] },
  );
  const outputs: OnnxValue[] = [{ name: 'Z', dims: ['M', 1] }];
  // Node order matters for memory, not for the result. onnxruntime runs the graph in the order of a reverse DFS
  // from the graph's leaves (the output nodes), taking the leaf with the highest node index first (seen in its
  // optimized-model dump, onnxruntime-node 1.30). Listed in data order, the leaf DX came last, so it ran first:
  // every layer's input gradient, then all DW/DB at the end, with every GZ_i and H_i alive at once (the first step
  // of a 100-400-400-400-1 tower at batch 4096 raised RSS by 71 MB). The leaves are therefore appended last, DX
  // first and layer L−1's DW last, so layer i's DW_i, DB_i run before the next layer down and GZ_i, H_{i−1} die as
  // the backward descends (+49 MB; step time unchanged, 76–80 vs 80–87 ms on this shared machine).
  const leaves: OnnxNode[] = [];
  let g = 'GTOP';
  for (let i = L - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.relu) {
      nodes.push({ opType: 'Greater', name: `mask${i}`, inputs: [n.h(i), 'ZERO'], outputs: [`P${i}`] });
      nodes.push({ opType: 'Where', name: `relugrad${i}`, inputs: [`P${i}`, g, 'ZERO'], outputs: [`GZ${i}`] });
      g = `GZ${i}`;
    }
    const a = i === 0 ? 'X' : n.h(i - 1);
    leaves.unshift(
      { opType: 'ReduceSum', name: `db${i}`, inputs: [g, 'AXIS0'], outputs: [`DB${i}`], attributes: { keepdims: { int: 0 } } },
      { opType: 'Gemm', name: `dw${i}`, inputs: [a, g], outputs: [`DW${i}`], attributes: { transA: { int: 1 } } },
    );
    outputs.push({ name: `DW${i}`, dims: [l.inDim, l.outDim] }, { name: `DB${i}`, dims: [l.outDim] });
    if (i > 0 || inputGrad) {
      const o = i === 0 ? 'DX' : `GA${i}`;
      const dx: OnnxNode = { opType: 'Gemm', name: `dx${i}`, inputs: [g, n.w(i)], outputs: [o], attributes: { transB: { int: 1 } } };
      if (i === 0) leaves.unshift(dx);
      else nodes.push(dx);
      g = o;
    }
  }
  nodes.push(...leaves);
  if (inputGrad) outputs.push({ name: 'DX', dims: ['M', layers[0].inDim] });
  return encodeOnnxModel({ name: 'tower_step', nodes, inputs, outputs });
}

/** One layer's constants for towerInt8ForwardModel: int8 weights with per-column scales, or fp32 weights. */
export type Int8TowerLayer = TowerLayerSpec & { bias: Float32Array } & ({ q: Int8Array; scale: Float32Array } | { w: Float32Array });

/**
 * The inference forward of a tower for int8 serving, weights baked in as constants (so ORT pre-packs them once).
 * Without inputQuant ('int8'): a quantized layer is com.microsoft.DynamicQuantizeMatMul (X quantized per tensor to
 * uint8 inside, per batch; int8 weights, per-column scales, fp32 bias). With inputQuant ('int8-static'): every
 * quantized layer's input has a fixed uint8 scale/zero point (inputQuant[i], from calibrated ranges), so a row's
 * output never depends on its batch: QuantizeLinear (saturating) then com.microsoft.MatMulIntegerToFloat (uint8 ×
 * int8 weights with per-column scales, fp32 bias). (QGemm with uint8 activations between layers was measured too:
 * ~5 % faster on 1 thread, ~20 % slower on 2, bench/engine/quant-gemm.bench.ts 'qgemm-static-h' vs
 * 'mmi2f-static'.) Either way Relu follows, and a layer given fp32 weights stays a Gemm. Input X (M × in), output
 * H{L−1}. Rebuild the model whenever the weights change.
 */
export function towerInt8ForwardModel(layers: Int8TowerLayer[], inputQuant?: ActivationQuant[]): Uint8Array {
  const n = towerNames;
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  let cur = 'X';
  layers.forEach((l, i) => {
    const z = l.relu ? `Z${i}` : n.h(i);
    initializers.push({ name: n.b(i), dims: [l.outDim], data: l.bias });
    if ('q' in l) {
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: l.q }, { name: `S${i}`, dims: [l.outDim], data: l.scale });
      if (inputQuant === undefined) {
        nodes.push({ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', name: `qmm${i}`, inputs: [cur, `Q${i}`, `S${i}`, '', n.b(i)], outputs: [z] });
      } else {
        const { scale, zeroPoint } = inputQuant[i];
        initializers.push({ name: `XS${i}`, dims: [], data: new Float32Array([scale]) }, { name: `XZ${i}`, dims: [], data: new Uint8Array([zeroPoint]) });
        nodes.push({ opType: 'QuantizeLinear', name: `quant${i}`, inputs: [cur, `XS${i}`, `XZ${i}`], outputs: [`XQ${i}`] });
        nodes.push({ opType: 'MatMulIntegerToFloat', domain: 'com.microsoft', name: `qmm${i}`, inputs: [`XQ${i}`, `Q${i}`, `XS${i}`, `S${i}`, `XZ${i}`, '', n.b(i)], outputs: [z] });
      }
    } else {
      initializers.push({ name: n.w(i), dims: [l.inDim, l.outDim], data: l.w });
      nodes.push({ opType: 'Gemm', name: `gemm${i}`, inputs: [cur, n.w(i), n.b(i)], outputs: [z] });
    }
    if (l.relu) nodes.push({ opType: 'Relu', name: `relu${i}`, inputs: [z], outputs: [n.h(i)] });
    cur = n.h(i);
  });
  const last = layers[layers.length - 1];
  return encodeOnnxModel({
    name: inputQuant === undefined ? 'tower_infer_int8' : 'tower_infer_int8_static',
    nodes,
    inputs: [{ name: 'X', dims: ['M', layers[0].inDim] }],
    outputs: [{ name: n.h(layers.length - 1), dims: ['M', last.outDim] }],
    initializers,
  });
}
