// Which ONNX Runtime (CPU, MLAS) numeric format could serve the 400-400-400 tower fast enough: times one layer
// (4096×400 · 400×400 + bias + ReLU) and the whole frappe-shaped tower (100→400→400→400→1) as fp32 and as the int8
// forms ORT offers (dynamic and static quantization, contrib ops) and fp16, on 1 and 2 intra-op threads.
// Measurement only: the library's int8 serving path (kernels/ort.ts) uses what wins here.
//
//   node dist/bench/engine/quant-gemm.bench.js [--batch 4096] [--threads 1,2] [--only name,...] [--in 100]

import * as ort from 'onnxruntime-node';
import { writeFileSync, mkdirSync } from 'node:fs';
import { encodeOnnxModel, type OnnxInitializer, type OnnxNode, type OnnxValue } from '../../src/kernels/onnx-encode.js';
import { Rng } from '../../src/core/rng.js';
import { timeIt, machine } from './timing.js';

interface Layer {
  inDim: number;
  outDim: number;
  relu: boolean;
  w: Float32Array; // [in × out]
  b: Float32Array;
}

type Scheme = (layers: Layer[]) => { nodes: OnnxNode[]; inputs: OnnxValue[]; initializers: OnnxInitializer[]; feedsW: boolean };

/** Symmetric per-output-column int8: q[i,j] = round(w[i,j] / s[j]), s[j] = max_i |w[i,j]| / qmax. */
function quantizeCols(l: Layer, qmax = 127): { q: Int8Array; s: Float32Array } {
  const q = new Int8Array(l.inDim * l.outDim);
  const s = new Float32Array(l.outDim);
  for (let j = 0; j < l.outDim; j++) {
    let m = 0;
    for (let i = 0; i < l.inDim; i++) m = Math.max(m, Math.abs(l.w[i * l.outDim + j]));
    s[j] = m > 0 ? m / qmax : 1;
  }
  for (let i = 0; i < l.inDim; i++) for (let j = 0; j < l.outDim; j++) q[i * l.outDim + j] = Math.round(l.w[i * l.outDim + j] / s[j]);
  return { q, s };
}

const relu = (nodes: OnnxNode[], l: Layer, z: string, h: string): void => {
  if (l.relu) nodes.push({ opType: 'Relu', inputs: [z], outputs: [h] });
  else nodes.push({ opType: 'Identity', inputs: [z], outputs: [h] });
};

const SCHEMES: Record<string, Scheme> = {
  // Today's inference graph: weights fed as inputs every run.
  'fp32-input': (layers) => {
    const nodes: OnnxNode[] = [];
    const inputs: OnnxValue[] = [];
    layers.forEach((l, i) => {
      inputs.push({ name: `W${i}`, dims: [l.inDim, l.outDim] }, { name: `B${i}`, dims: [l.outDim] });
      nodes.push({ opType: 'Gemm', inputs: [i === 0 ? 'X' : `H${i - 1}`, `W${i}`, `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs, initializers: [], feedsW: true };
  },
  // Weights as constants: MLAS pre-packs B once.
  'fp32-const': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      initializers.push({ name: `W${i}`, dims: [l.inDim, l.outDim], data: l.w }, { name: `B${i}`, dims: [l.outDim], data: l.b });
      nodes.push({ opType: 'Gemm', inputs: [i === 0 ? 'X' : `H${i - 1}`, `W${i}`, `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // com.microsoft.DynamicQuantizeMatMul: A float (quantized per tensor to uint8 inside), B int8 constant, per-column scales, bias.
  'dqmm': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `B${i}`, dims: [l.outDim], data: l.b });
      nodes.push({ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', inputs: [i === 0 ? 'X' : `H${i - 1}`, `Q${i}`, `S${i}`, '', `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // Standard ops: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(a_scale·b_scale) → Add bias (ORT may fuse these).
  'mmint': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `B${i}`, dims: [l.outDim], data: l.b });
      initializers.push({ name: `QZ${i}`, dims: [l.outDim], data: new Int8Array(l.outDim) });
      const x = i === 0 ? 'X' : `H${i - 1}`;
      nodes.push({ opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [`XQ${i}`, `XS${i}`, `XZ${i}`] });
      nodes.push({ opType: 'MatMulInteger', inputs: [`XQ${i}`, `Q${i}`, `XZ${i}`, `QZ${i}`], outputs: [`I${i}`] });
      nodes.push({ opType: 'Cast', inputs: [`I${i}`], outputs: [`F${i}`], attributes: { to: { int: 1 } } });
      nodes.push({ opType: 'Mul', inputs: [`XS${i}`, `S${i}`], outputs: [`SS${i}`] });
      nodes.push({ opType: 'Mul', inputs: [`F${i}`, `SS${i}`], outputs: [`M${i}`] });
      nodes.push({ opType: 'Add', inputs: [`M${i}`, `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // com.microsoft.MatMulIntegerToFloat after DynamicQuantizeLinear.
  'mmi2f': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `B${i}`, dims: [l.outDim], data: l.b });
      const x = i === 0 ? 'X' : `H${i - 1}`;
      nodes.push({ opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [`XQ${i}`, `XS${i}`, `XZ${i}`] });
      nodes.push({ opType: 'MatMulIntegerToFloat', domain: 'com.microsoft', inputs: [`XQ${i}`, `Q${i}`, `XS${i}`, `S${i}`, `XZ${i}`, '', `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // Static, float between layers: QuantizeLinear with a fixed scale/zero point per layer input, then
  // com.microsoft.MatMulIntegerToFloat (per-column weight scales, fp32 bias), Relu; the last layer likewise.
  'mmi2f-static': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      const xs = 0.05;
      if (l.outDim < 16) {
        initializers.push({ name: `W${i}`, dims: [l.inDim, l.outDim], data: l.w }, { name: `B${i}`, dims: [l.outDim], data: l.b });
        nodes.push({ opType: 'Gemm', inputs: [`H${i - 1}`, `W${i}`, `B${i}`], outputs: [`Z${i}`] });
        relu(nodes, l, `Z${i}`, `H${i}`);
        return;
      }
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `B${i}`, dims: [l.outDim], data: l.b });
      initializers.push({ name: `XS${i}`, dims: [], data: new Float32Array([xs]) }, { name: `XZ${i}`, dims: [], data: new Uint8Array([i === 0 ? 128 : 0]) });
      const x = i === 0 ? 'X' : `H${i - 1}`;
      nodes.push({ opType: 'QuantizeLinear', inputs: [x, `XS${i}`, `XZ${i}`], outputs: [`XQ${i}`] });
      nodes.push({ opType: 'MatMulIntegerToFloat', domain: 'com.microsoft', inputs: [`XQ${i}`, `Q${i}`, `XS${i}`, `S${i}`, `XZ${i}`, '', `B${i}`], outputs: [`Z${i}`] });
      relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // Static quantization: activations stay uint8 between layers (zero point 0: the saturating requantize is the
  // ReLU), com.microsoft.QGemm with int32 bias; fixed activation scales (a calibrated model would measure them).
  'qgemm-static': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    const actScale = 0.05;
    initializers.push({ name: 'AS', dims: [], data: new Float32Array([actScale]) }, { name: 'AZ', dims: [], data: new Uint8Array([0]) }, { name: 'XS', dims: [], data: new Float32Array([0.05]) }, { name: 'XZ', dims: [], data: new Uint8Array([128]) });
    nodes.push({ opType: 'QuantizeLinear', inputs: ['X', 'XS', 'XZ'], outputs: ['XQ'] });
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      const inS = i === 0 ? 'XS' : 'AS';
      const inZ = i === 0 ? 'XZ' : 'AZ';
      const bias = new Int32Array(l.outDim);
      const sIn = i === 0 ? 0.05 : actScale;
      for (let j = 0; j < l.outDim; j++) bias[j] = Math.round(l.b[j] / (sIn * s[j]));
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `QZ${i}`, dims: [l.outDim], data: new Int8Array(l.outDim) }, { name: `C${i}`, dims: [l.outDim], data: bias });
      const x = i === 0 ? 'XQ' : `H${i - 1}`;
      const last = i === layers.length - 1;
      // The last layer (no ReLU) outputs float (QGemm without y_scale).
      nodes.push({ opType: 'QGemm', domain: 'com.microsoft', inputs: [x, inS, inZ, `Q${i}`, `S${i}`, `QZ${i}`, `C${i}`, ...(last ? [] : ['AS', 'AZ'])], outputs: [last ? `Z${i}` : `H${i}`] });
      if (last) relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // As served by precision 'int8-static' if QGemm wins: hidden layers QGemm (uint8 between them, per-column weight
  // scales, int32 bias), the last hidden layer's output float then Relu, the logit head an fp32 Gemm.
  'qgemm-static-h': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    const xs = 0.05;
    initializers.push({ name: 'AS', dims: [], data: new Float32Array([xs]) }, { name: 'AZ', dims: [], data: new Uint8Array([0]) }, { name: 'XZ', dims: [], data: new Uint8Array([128]) });
    nodes.push({ opType: 'QuantizeLinear', inputs: ['X', 'AS', 'XZ'], outputs: ['XQ'] });
    const hidden = layers.filter((l) => l.outDim >= 16).length;
    layers.forEach((l, i) => {
      if (i >= hidden) {
        initializers.push({ name: `W${i}`, dims: [l.inDim, l.outDim], data: l.w }, { name: `B${i}`, dims: [l.outDim], data: l.b });
        nodes.push({ opType: 'Gemm', inputs: [`H${i - 1}`, `W${i}`, `B${i}`], outputs: [`Z${i}`] });
        relu(nodes, l, `Z${i}`, `H${i}`);
        return;
      }
      const { q, s } = quantizeCols(l);
      const bias = new Int32Array(l.outDim);
      for (let j = 0; j < l.outDim; j++) bias[j] = Math.round(l.b[j] / (xs * s[j]));
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `QZ${i}`, dims: [l.outDim], data: new Int8Array(l.outDim) }, { name: `C${i}`, dims: [l.outDim], data: bias });
      const x = i === 0 ? 'XQ' : `U${i - 1}`;
      const lastHidden = i === hidden - 1;
      nodes.push({ opType: 'QGemm', domain: 'com.microsoft', inputs: [x, 'AS', i === 0 ? 'XZ' : 'AZ', `Q${i}`, `S${i}`, `QZ${i}`, `C${i}`, ...(lastHidden ? [] : ['AS', 'AZ'])], outputs: [lastHidden ? `Z${i}` : `U${i}`] });
      if (lastHidden) relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // Like qgemm-static-h, but the last hidden layer also outputs uint8 (the head input's static scale), dequantized
  // for the fp32 head.
  'qgemm-static-dq': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    const xs = 0.05;
    initializers.push({ name: 'AS', dims: [], data: new Float32Array([xs]) }, { name: 'AZ', dims: [], data: new Uint8Array([0]) }, { name: 'XZ', dims: [], data: new Uint8Array([128]) });
    nodes.push({ opType: 'QuantizeLinear', inputs: ['X', 'AS', 'XZ'], outputs: ['XQ'] });
    const hidden = layers.filter((l) => l.outDim >= 16).length;
    layers.forEach((l, i) => {
      if (i >= hidden) {
        initializers.push({ name: `W${i}`, dims: [l.inDim, l.outDim], data: l.w }, { name: `B${i}`, dims: [l.outDim], data: l.b });
        nodes.push({ opType: 'DequantizeLinear', inputs: [`U${i - 1}`, 'AS', 'AZ'], outputs: [`D${i}`] });
        nodes.push({ opType: 'Gemm', inputs: [`D${i}`, `W${i}`, `B${i}`], outputs: [`Z${i}`] });
        relu(nodes, l, `Z${i}`, `H${i}`);
        return;
      }
      const { q, s } = quantizeCols(l);
      const bias = new Int32Array(l.outDim);
      for (let j = 0; j < l.outDim; j++) bias[j] = Math.round(l.b[j] / (xs * s[j]));
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `QZ${i}`, dims: [l.outDim], data: new Int8Array(l.outDim) }, { name: `C${i}`, dims: [l.outDim], data: bias });
      const x = i === 0 ? 'XQ' : `U${i - 1}`;
      const lastHidden = false;
      nodes.push({ opType: 'QGemm', domain: 'com.microsoft', inputs: [x, 'AS', i === 0 ? 'XZ' : 'AZ', `Q${i}`, `S${i}`, `QZ${i}`, `C${i}`, ...(lastHidden ? [] : ['AS', 'AZ'])], outputs: [lastHidden ? `Z${i}` : `U${i}`] });
      if (lastHidden) relu(nodes, l, `Z${i}`, `H${i}`);
    });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // QLinearMatMul (ONNX standard, static): uint8 chain, bias-free (throughput only).
  'qlinear-matmul': (layers) => {
    const nodes: OnnxNode[] = [];
    const initializers: OnnxInitializer[] = [];
    initializers.push({ name: 'AS', dims: [], data: new Float32Array([0.05]) }, { name: 'AZ', dims: [], data: new Uint8Array([0]) }, { name: 'XZ', dims: [], data: new Uint8Array([128]) });
    nodes.push({ opType: 'QuantizeLinear', inputs: ['X', 'AS', 'XZ'], outputs: ['XQ'] });
    layers.forEach((l, i) => {
      const { q, s } = quantizeCols(l);
      initializers.push({ name: `Q${i}`, dims: [l.inDim, l.outDim], data: q }, { name: `S${i}`, dims: [l.outDim], data: s }, { name: `QZ${i}`, dims: [l.outDim], data: new Int8Array(l.outDim) });
      const x = i === 0 ? 'XQ' : `U${i - 1}`;
      nodes.push({ opType: 'QLinearMatMul', inputs: [x, 'AS', i === 0 ? 'XZ' : 'AZ', `Q${i}`, `S${i}`, `QZ${i}`, 'AS', 'AZ'], outputs: [`U${i}`] });
    });
    nodes.push({ opType: 'DequantizeLinear', inputs: [`U${layers.length - 1}`, 'AS', 'AZ'], outputs: [`H${layers.length - 1}`] });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
  // fp16 weights and activations (Cast in, MatMul/Add/Relu in fp16, Cast out).
  'fp16': (layers) => {
    const nodes: OnnxNode[] = [{ opType: 'Cast', inputs: ['X'], outputs: ['X16'], attributes: { to: { int: 10 } } }];
    const initializers: OnnxInitializer[] = [];
    layers.forEach((l, i) => {
      initializers.push({ name: `W${i}`, dims: [l.inDim, l.outDim], data: toHalf(l.w) }, { name: `B${i}`, dims: [l.outDim], data: toHalf(l.b) });
      nodes.push({ opType: 'MatMul', inputs: [i === 0 ? 'X16' : `G${i - 1}`, `W${i}`], outputs: [`M${i}`] });
      nodes.push({ opType: 'Add', inputs: [`M${i}`, `B${i}`], outputs: [`Z${i}`] });
      if (l.relu) nodes.push({ opType: 'Relu', inputs: [`Z${i}`], outputs: [`G${i}`] });
      else nodes.push({ opType: 'Identity', inputs: [`Z${i}`], outputs: [`G${i}`] });
    });
    nodes.push({ opType: 'Cast', inputs: [`G${layers.length - 1}`], outputs: [`H${layers.length - 1}`], attributes: { to: { int: 1 } } });
    return { nodes, inputs: [], initializers, feedsW: false };
  },
};

function toHalf(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < a.length; i++) {
    f[0] = a[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const e = ((x >>> 23) & 0xff) - 127 + 15;
    const m = x & 0x7fffff;
    if (e <= 0) out[i] = sign;
    else if (e >= 31) out[i] = sign | 0x7c00;
    else out[i] = sign | (e << 10) | Math.round(m / 8192);
  }
  return out;
}

function makeLayers(dims: number[], rng: Rng): Layer[] {
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const inDim = dims[i];
    const outDim = dims[i + 1];
    const lim = Math.sqrt(6 / (inDim + outDim));
    const w = new Float32Array(inDim * outDim);
    for (let k = 0; k < w.length; k++) w[k] = (rng.next() * 2 - 1) * lim;
    const b = new Float32Array(outDim);
    for (let k = 0; k < outDim; k++) b[k] = (rng.next() * 2 - 1) * 0.05;
    layers.push({ inDim, outDim, relu: i + 2 < dims.length, w, b });
  }
  return layers;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  const M = Number(opt('--batch') ?? 4096);
  const threadsList = (opt('--threads') ?? '1,2').split(',').map(Number);
  const only = opt('--only')?.split(',');
  const inDim = Number(opt('--in') ?? 100);
  const rng = new Rng(7);
  const shapes: Array<{ name: string; dims: number[] }> = [
    { name: 'layer 400→400 relu', dims: [400, 400] },
    { name: `tower ${inDim}→400→400→400→1`, dims: [inDim, 400, 400, 400, 1] },
  ];
  ort.env.logLevel = 'fatal';
  const rows: Array<Record<string, unknown>> = [];
  for (const shape of shapes) {
    const layers = makeLayers(shape.dims, rng);
    if (shape.dims.length === 2) layers[0].relu = true;
    const flops = 2 * M * layers.reduce((a, l) => a + l.inDim * l.outDim, 0);
    const x = new Float32Array(M * layers[0].inDim);
    // ReLU-like nonnegative-heavy inputs as the hidden layers see them; the first layer sees embeddings (±).
    for (let k = 0; k < x.length; k++) x[k] = (rng.next() * 2 - 1) * 0.5;
    let ref: Float32Array | null = null;
    for (const [name, scheme] of Object.entries(SCHEMES)) {
      if (only && !only.includes(name)) continue;
      const g = scheme(layers);
      const L = layers.length;
      const out = `H${L - 1}`;
      const bytes = encodeOnnxModel({
        name,
        nodes: g.nodes,
        inputs: [{ name: 'X', dims: ['M', layers[0].inDim] }, ...g.inputs],
        outputs: [{ name: out, dims: ['M', layers[L - 1].outDim] }],
        initializers: g.initializers,
      }, 17);
      for (const threads of threadsList) {
        let s: ort.InferenceSession;
        try {
          s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 4 });
        } catch (e) {
          console.log(`${shape.name}  ${name}  t=${threads}: cannot create (${(e as Error).message.split('\n')[0]})`);
          rows.push({ shape: shape.name, scheme: name, threads, error: (e as Error).message.slice(0, 200) });
          break;
        }
        const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', x, [M, layers[0].inDim]) };
        if (g.feedsW) layers.forEach((l, i) => {
          feeds[`W${i}`] = new ort.Tensor('float32', l.w, [l.inDim, l.outDim]);
          feeds[`B${i}`] = new ort.Tensor('float32', l.b, [l.outDim]);
        });
        let y: Float32Array | null = null;
        let err: string | null = null;
        const sec = await timeIt(async () => {
          try {
            const r = await s.run(feeds);
            y = r[out].data as Float32Array;
          } catch (e) {
            err = (e as Error).message;
          }
        }, 1.5, 5);
        if (err !== null) {
          console.log(`${shape.name}  ${name}  t=${threads}: run failed (${String(err).split('\n')[0]})`);
          rows.push({ shape: shape.name, scheme: name, threads, error: String(err).slice(0, 200) });
          await s.release();
          break;
        }
        const yy = y as unknown as Float32Array;
        if (ref === null) ref = yy.slice();
        let maxAbs = 0;
        let refMax = 0;
        for (let k = 0; k < yy.length; k++) {
          maxAbs = Math.max(maxAbs, Math.abs(yy[k] - ref[k]));
          refMax = Math.max(refMax, Math.abs(ref[k]));
        }
        const gf = flops / sec / 1e9;
        console.log(`${shape.name.padEnd(28)} ${name.padEnd(15)} t=${threads}  ${(sec * 1000).toFixed(2).padStart(7)} ms  ${gf.toFixed(0).padStart(5)} GFLOP/s  ${(M / sec / 1000).toFixed(0).padStart(6)}k rows/s  max|Δ| vs fp32 ${maxAbs.toExponential(2)} (|y|max ${refMax.toFixed(2)})`);
        rows.push({ shape: shape.name, scheme: name, threads, ms: sec * 1000, gflops: gf, rowsPerSec: M / sec, maxAbsDiff: maxAbs, refMax });
        await s.release();
      }
    }
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/quant-gemm.json', JSON.stringify({ benchmark: 'quant-gemm', batch: M, machine: machine(), ort: '1.30', rows }, null, 1) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
