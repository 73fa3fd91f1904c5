// A small builder over kernels/onnx-encode.ts for the export graphs: unique value names, constants as
// initializers, one method per node. It only collects nodes; encoding stays in onnx-encode.ts (one writer).

import type { OnnxInitializer, OnnxNode } from '../kernels/onnx-encode.js';

type Attr = NonNullable<OnnxNode['attributes']>[string];

/** TensorProto.DataType codes for Cast's `to` attribute. */
export const ONNX_TYPE = { float: 1, int64: 7, bool: 9, uint64: 13 } as const;

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private count = 0;
  private readonly scalars = new Map<string, string>();

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}__${this.count++}`;
  }

  /** One node; returns the name of its (first) output. */
  op(opType: string, inputs: string[], attributes?: Record<string, Attr>, opts: { domain?: string; out?: string } = {}): string {
    const out = opts.out ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, name: `n${this.nodes.length}_${opType}`, inputs, outputs: [out], attributes, domain: opts.domain });
    return out;
  }

  /** A constant tensor (an initializer). */
  tensor(prefix: string, dims: number[], data: OnnxInitializer['data']): string {
    const name = this.fresh(prefix);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A named constant tensor (model weights keep their .bhm names). */
  named(name: string, dims: number[], data: OnnxInitializer['data']): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  i64(values: (number | bigint)[], dims: number[] = [values.length]): string {
    return this.cached(`i64:${dims.join('x')}:${values.join(',')}`, () => this.tensor('c_i64', dims, BigInt64Array.from(values, (v) => BigInt(v))));
  }

  u64(values: (number | bigint)[], dims: number[] = [values.length]): string {
    return this.cached(`u64:${dims.join('x')}:${values.join(',')}`, () => this.tensor('c_u64', dims, BigUint64Array.from(values, (v) => BigInt(v))));
  }

  f32(values: number[], dims: number[] = [values.length]): string {
    return this.cached(`f32:${dims.join('x')}:${values.join(',')}`, () => this.tensor('c_f32', dims, Float32Array.from(values)));
  }

  private cached(key: string, make: () => string): string {
    let name = this.scalars.get(key);
    if (name === undefined) {
      name = make();
      this.scalars.set(key, name);
    }
    return name;
  }

  // ---- shorthands (opset 18: axes of Unsqueeze/Reduce* are inputs) ----

  cast(x: string, to: keyof typeof ONNX_TYPE): string {
    return this.op('Cast', [x], { to: { int: ONNX_TYPE[to] } });
  }

  unsqueeze(x: string, axis: number): string {
    return this.op('Unsqueeze', [x, this.i64([axis])]);
  }

  reduceSum(x: string, axis: number, keepdims: boolean): string {
    return this.op('ReduceSum', [x, this.i64([axis])], { keepdims: { int: keepdims ? 1 : 0 } });
  }

  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.i64(shape)]);
  }

  /** Logical right shift of uint64 x by the uint64 amounts (ONNX BitShift takes unsigned types only). */
  shr(x: string, amounts: string): string {
    return this.op('BitShift', [x, amounts], { direction: { string: 'RIGHT' } });
  }
}
