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
}

export function handleError(e: unknown, stderr: ErrorSink = process.stderr): void {
  const debug = process.env.BHEMBED_DEBUG === '1';
  if (e instanceof CommanderError) {
    // commander has already printed its message (see configureOutput in main.ts)
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exitCode = 0;
    else process.exitCode = EXIT_USAGE;
    return;
  }
  if (isBhembedError(e)) {
    stderr.write(`bhembed: ${e.message}\n`);
    if (debug && e.stack) stderr.write(`${e.stack}\n`);
    process.exitCode = e.code === 'usage' || e.code === 'config.invalid' ? EXIT_USAGE : EXIT_RUNTIME;
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  stderr.write(`bhembed: internal error (a bug, please report it): ${err.message}\n${err.stack ?? ''}\n`);
  process.exitCode = EXIT_RUNTIME;
}
