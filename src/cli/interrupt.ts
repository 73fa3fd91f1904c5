// Ctrl-C and `kill`: remove the files a command was still writing (core/cleanup.ts), say what was removed and what
// was kept, and exit 130 (SIGINT) or 143 (SIGTERM) as shells expect. Without this, Node's default handling killed
// the process mid-write and left `.p.csv.<pid>.tmp` or a 42 MB `.m.bhm.<pid>.….tmp` behind, without a word.

import { rmSync } from 'node:fs';
import { keptDescriptions, partialFiles } from '../core/cleanup.js';

export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** Remove the unfinished files; the message lines to print (without the `bhembed: ` prefix). */
export function cleanUpAfterSignal(signal: 'SIGINT' | 'SIGTERM'): string[] {
  const removed: string[] = [];
  for (const [path, what] of partialFiles()) {
    try {
      rmSync(path, { force: true });
      removed.push(what);
    } catch {
      removed.push(`${what} (could not be removed: delete ${path})`);
    }
  }
  const lines = [`interrupted (${signal})${removed.length > 0 ? `: removed the unfinished ${removed.join(', ')}` : ''}`];
  const kept = keptDescriptions();
  lines.push(kept.length > 0 ? `kept: ${kept.join('; ')}` : 'nothing was written');
  return lines;
}

/** Install the handlers (bin.ts only: they end the process). */
export function exitCleanlyOnSignals(stderr: NodeJS.WriteStream = process.stderr): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const lines = cleanUpAfterSignal(signal);
      // '\r\x1b[2K' clears a progress bar the signal interrupted (as errorLine does).
      stderr.write(`${stderr.isTTY === true ? '\r\x1b[2K' : ''}${lines.map((l) => `bhembed: ${l}\n`).join('')}`);
      process.exit(SIGNAL_EXIT[signal]);
    });
  }
}
