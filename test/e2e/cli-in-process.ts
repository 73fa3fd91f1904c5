// The CLI in this process: run(argv) from cli/main.ts with its errors through handleError, as bin.ts does, and
// stderr captured. For checks of messages and exit codes where spawning node (and loading onnxruntime) adds
// nothing; tests that need a real process (signals, pipes, the bin file itself) or stdout keep spawning. stdout is
// not captured: under node --test it carries the test file's own report.
import { handleError } from '../../src/cli/handle-error.js';
import { run } from '../../src/cli/main.js';

type Write = typeof process.stderr.write;

/** `bhembed args…` in-process: the exit status bin.ts would set, and everything written to stderr. */
export async function bhembedInProcess(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const err = process.stderr.write;
  const before = process.exitCode;
  const debug = process.env.BHEMBED_DEBUG;
  process.env.BHEMBED_DEBUG = '0';
  process.exitCode = undefined;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += typeof s === 'string' ? s : Buffer.from(s).toString('utf8')), true)) as Write;
  let status: number;
  try {
    await run(['node', 'bhembed', ...args]).catch((e: unknown) => handleError(e, { write: (s: string) => (stderr += s) }));
    status = Number(process.exitCode ?? 0);
  } finally {
    process.stderr.write = err;
    process.exitCode = before;
    if (debug === undefined) delete process.env.BHEMBED_DEBUG;
    else process.env.BHEMBED_DEBUG = debug;
  }
  return { status, stderr };
}
