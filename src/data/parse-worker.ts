// Reading, parsing and hashing on a worker thread, so a streamed pass overlaps them with training on the main
// thread: the worker reads the files in order and posts each chunk (its arrays transferred, not copied); the main
// thread keeps at most IN_FLIGHT chunks queued (backpressure). Importing this file on the main thread runs nothing.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fromPlain, toPlain, type PlainError } from '../core/errors.js';
import type { DataChunk } from './chunk.js';
import { MultiFileInput } from './inputs.js';
import type { DataFormat, PassStats, ReaderOptions } from './reader.js';

/** Chunks parsed ahead of the consumer at most. */
const IN_FLIGHT = 4;

interface ParseInit {
  kind: 'bhembed-parse-worker';
  format: DataFormat;
  files: string[];
  options: ReaderOptions;
}

type Msg = { type: 'chunk'; chunk: DataChunk } | { type: 'end'; stats: PassStats } | { type: 'error'; error: PlainError };

function transferList(c: DataChunk): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>([c.labels.buffer as ArrayBuffer]);
  for (const f of c.fields) {
    out.add(f.ids.buffer as ArrayBuffer);
    if (f.offsets) out.add(f.offsets.buffer as ArrayBuffer);
    if (f.weights) out.add(f.weights.buffer as ArrayBuffer);
  }
  if (c.dense) out.add(c.dense.buffer as ArrayBuffer);
  if (c.positions) out.add(c.positions.buffer as ArrayBuffer);
  if (c.sampleWeights) out.add(c.sampleWeights.buffer as ArrayBuffer);
  return [...out];
}

/**
 * One pass over the files, parsed on a worker thread. `onEnd` gets the pass's reader statistics.
 * @example
 *   for await (const chunk of parsedOnWorker('criteo', files, {})) train(chunk);
 */
export async function* parsedOnWorker(format: DataFormat, files: string[], options: ReaderOptions, onEnd?: (stats: PassStats) => void): AsyncGenerator<DataChunk> {
  const init: ParseInit = { kind: 'bhembed-parse-worker', format, files, options };
  const worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: init });
  const queue: Msg[] = [];
  let wake: (() => void) | null = null;
  let exited = false;
  worker.on('message', (m: Msg) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (e: unknown) => {
    queue.push({ type: 'error', error: toPlain(e) });
    wake?.();
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (exited) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
      const m = queue.shift() as Msg;
      if (m.type === 'error') throw fromPlain(m.error);
      if (m.type === 'end') {
        onEnd?.(m.stats);
        return;
      }
      worker.postMessage('more');
      yield m.chunk;
    }
  } finally {
    await worker.terminate();
  }
}

async function runWorker(init: ParseInit): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  let credits = IN_FLIGHT;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    credits++;
    wake?.();
  });
  try {
    const input = await MultiFileInput.open(init.format, init.files, init.options);
    for await (const c of input.chunks()) {
      while (credits === 0) await new Promise<void>((r) => (wake = r));
      credits--;
      // Chunks from a ChunkBuilder own their buffers (subarrays of fresh arrays): transfer them whole.
      port.postMessage({ type: 'chunk', chunk: c }, transferList(c));
    }
    port.postMessage({ type: 'end', stats: input.stats });
  } catch (e) {
    port.postMessage({ type: 'error', error: toPlain(e) });
  }
  port.close();
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'bhembed-parse-worker') void runWorker(workerData as ParseInit);
