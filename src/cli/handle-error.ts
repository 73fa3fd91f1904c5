// The one place errors become terminal output and exit codes. A BhembedError is expected (bad input or
// config) and prints as one line; anything else is a bug and prints its stack. Sets process.exitCode instead
// of calling process.exit so stdout still flushes.

import { CommanderError } from 'commander';
import { isBhembedError } from '../core/errors.js';

/** Exit code for usage and configuration errors (commander's own usage errors included). */
export const EXIT_USAGE = 2;
/** Exit code for runtime errors (data, I/O, checkpoints, bugs). */
export const EXIT_RUNTIME = 1;

export interface ErrorSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * `bhembed: message` as one line. On a terminal the line starts by clearing it: a progress bar interrupted by the
 * error has left its text there without a newline, and the message used to be glued to its end.
 */
export function errorLine(message: string, stderr: ErrorSink): string {
  return `${stderr.isTTY === true ? '\r\x1b[2K' : ''}bhembed: ${message}\n`;
}

/** The reader of our stdout went away (`bhembed predict m.bhm d.txt | head`): not an error of ours. */
export function isClosedPipe(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'EPIPE';
}

/**
 * Exit quietly (status 0, like `cat | head`) once the reader of `stream` closes the pipe, instead of an unhandled
 * 'error' event with a stack trace. Only bin.ts calls this: it ends the process.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e) => {
    if (!isClosedPipe(e)) throw e;
    process.exit(0);
  });
}

/** The message as a CLI user should read it: library advice that names no CLI flag gets the flags that help. */
function cliMessage(e: { code: string; message: string; details?: Record<string, unknown> }): string {
  const d = e.details ?? {};
  if (e.code === 'kernel.failed' && typeof d.need === 'number' && typeof d.limit === 'number') {
    const gb = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
    return `out of memory for the compute kernels: need ${gb(d.need)}, the limit is ${gb(d.limit)}; lower --batch-size (memory grows with batch size × fields × --dim and --mlp widths)`;
  }
  if (e.code === 'config.invalid' && d.diverged === true && typeof d.epoch === 'number' && typeof d.step === 'number') {
    return `training diverged at epoch ${d.epoch} step ${d.step} (${String(d.what)}); lower --lr or --init-std`;
  }
  return e.message;
}

export function handleError(e: unknown, stderr: ErrorSink = process.stderr): void {
  const debug = process.env.BHEMBED_DEBUG === '1';
  if (isClosedPipe(e)) {
    process.exitCode = 0;
    return;
  }
  if (e instanceof CommanderError) {
    // commander has already printed its message (see configureOutput in main.ts)
    // `bhembed help train` ends as 'commander.help' with exit code 0; bare `bhembed` prints help as an error (1 → usage)
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || (e.code === 'commander.help' && e.exitCode === 0)) process.exitCode = 0;
    else process.exitCode = EXIT_USAGE;
    return;
  }
  if (isBhembedError(e)) {
    stderr.write(errorLine(cliMessage(e), stderr));
    if (debug && e.stack) stderr.write(`${e.stack}\n`);
    process.exitCode = e.code === 'usage' || e.code === 'config.invalid' ? EXIT_USAGE : EXIT_RUNTIME;
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  stderr.write(`${errorLine(`internal error (a bug, please report it): ${err.message}`, stderr)}${err.stack ?? ''}\n`);
  process.exitCode = EXIT_RUNTIME;
}
