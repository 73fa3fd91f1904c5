// Worker side of PredictPool: builds one Predictor from the model contents it was started with and scores the
// batches it is sent with its model (no copy: the message's arrays are the Batch), one at a time (a model's
// buffers serve one batch at a time), replying with probabilities.

import { parentPort, workerData } from 'node:worker_threads';
import { toPlain } from '../core/errors.js';
import type { Batch } from '../core/batch.js';
import type { GemmKind, InferPrecision, OpsKind } from '../kernels/index.js';
import type { ModelFileContents } from '../models/model-file.js';
import { Predictor } from './predictor.js';

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
  port.on('message', (m: { id: number; batch: Batch }) => {
    queue = queue.then(async () => {
      try {
        const probs = (await predictor.model.predict(m.batch)).slice(0, m.batch.size);
        port.postMessage({ type: 'probs', id: m.id, probs }, [probs.buffer]);
      } catch (e) {
        port.postMessage({ type: 'error', id: m.id, error: toPlain(e) });
      }
    });
  });
  port.postMessage({ type: 'ready' });
}

void main();
