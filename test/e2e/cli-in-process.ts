// The CLI in this process: run(argv) from cli/main.ts with its errors through handleError, as bin.ts does, and
// its output captured. For checks of messages, exit codes and JSON where spawning node (and loading onnxruntime)
// adds nothing; tests that need a real process (signals, pipes, the bin file itself) keep spawning.
// Under node --test, stdout also carries this file's own test report: only writes made from the project's code
// (a stack frame under dist/src/) are captured, everything else passes through.
import { handleError } from '../../src/cli/handle-error.js';
import { run } from '../../src/cli/main.js';

type Write = typeof process.stdout.write;
const SRC = new URL('../../src/', import.meta.url).pathname;

function capture(stream: NodeJS.WriteStream, sink: (s: string) => void): () => void {
  const original = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    if (!(new Error().stack ?? '').includes(SRC)) return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    if (cb) queueMicrotask(cb);
    return true;
  } as Write;
  return () => {
    stream.write = original;
  };
}

/** `bhembed args…` in-process: the exit status bin.ts would set, and what the CLI wrote to stdout and stderr. */
export async function bhembedInProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const before = process.exitCode;
  const debug = process.env.BHEMBED_DEBUG;
  process.env.BHEMBED_DEBUG = '0';
  process.exitCode = undefined;
  const restoreOut = capture(process.stdout, (s) => (stdout += s));
  const restoreErr = capture(process.stderr, (s) => (stderr += s));
  let status: number;
  try {
    await run(['node', 'bhembed', ...args]).catch((e: unknown) => handleError(e, { write: (s: string) => (stderr += s) }));
    status = Number(process.exitCode ?? 0);
  } finally {
    restoreOut();
    restoreErr();
    process.exitCode = before;
    if (debug === undefined) delete process.env.BHEMBED_DEBUG;
    else process.env.BHEMBED_DEBUG = debug;
  }
  return { status, stdout, stderr };
}
