// Worker side of PredictPool: builds one Predictor from the model contents it was started with and scores the
// batches it is sent with its model (no copy: the message's arrays are the Batch), one at a time (a model's
// buffers serve one batch at a time), replying with probabilities. JSON request bodies are read here too, so the
// server's event loop only moves bytes.

import { parentPort, workerData } from 'node:worker_threads';
import { toPlain } from '../core/errors.js';
import type { Batch } from '../core/batch.js';
import type { GemmKind, InferPrecision, OpsKind } from '../kernels/index.js';
import type { ModelFileContents } from '../models/model-file.js';
import { Predictor } from './predictor.js';
import type { BodyOptions } from './predictor.js';

/** What a worker's Predictor is built with (a plain, cloneable subset of LoadOptions). */
export interface WorkerLoadOptions {
  ops?: OpsKind;
  gemm?: GemmKind;
  precision?: InferPrecision;
  inferThreads?: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const { file, path, opts } = workerData as { file: ModelFileContents; path: string; opts: WorkerLoadOptions };
  let predictor: Predictor;
  try {
    predictor = await Predictor.fromContents(file, path, { ...opts, workers: 1 });
  } catch (e) {
    port.postMessage({ type: 'error', id: -1, error: toPlain(e) });
    return;
  }
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: { id: number; batch?: Batch; bodies?: { bytes: Uint8Array; ends: Uint32Array; opts: BodyOptions } }) => {
    queue = queue.then(async () => {
      try {
        if (m.bodies !== undefined) {
          const { bytes, ends, opts } = m.bodies;
          const bodies = Array.from(ends, (e, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], e));
          const packed = await predictor.scoreBodiesHere(bodies, opts);
          port.postMessage({ type: 'packed', id: m.id, packed }, [packed.probs.buffer as ArrayBuffer]);
          return;
        }
        const batch = m.batch as Batch;
        const probs = (await predictor.model.predict(batch)).slice(0, batch.size);
        port.postMessage({ type: 'probs', id: m.id, probs }, [probs.buffer]);
      } catch (e) {
        port.postMessage({ type: 'error', id: m.id, error: toPlain(e) });
      }
    });
  });
  port.postMessage({ type: 'ready' });
}

void main();
