// Files a command is still writing (temp files before their rename, outputs written in place) and what it has
// already kept, so an interrupted run (SIGINT, SIGTERM) can remove the unfinished files and say what survived.
// A passive registry: library code records here and never prints; only cli/interrupt.ts acts on it.

const partial = new Map<string, string>();
const keptNotes = new Set<() => string | null>();
const written = new Set<string>();

/** Record a finished output (after its atomic rename): the interrupt message lists it as kept. */
export function recordWritten(path: string): void {
  written.add(path);
}

/**
 * Record a file being written that is not a finished result yet (a temp file before its rename, a data file
 * written in place). `what` names it in the interrupt message. Call untrackPartial once it is complete or gone.
 */
export function trackPartial(path: string, what = path): void {
  partial.set(path, what);
}

export function untrackPartial(path: string): void {
  partial.delete(path);
}

/** The files being written now, with their descriptions. */
export function partialFiles(): ReadonlyArray<[path: string, what: string]> {
  return [...partial.entries()];
}

/**
 * Register a line for the interrupt message that says what a running command has kept (e.g. "results.json with 3
 * finished cells"); the function returns null when there is nothing to say yet. Returns the unregister function.
 */
export function noteKept(describe: () => string | null): () => void {
  keptNotes.add(describe);
  return () => keptNotes.delete(describe);
}

export function keptDescriptions(): string[] {
  const out: string[] = written.size > 0 ? [`written: ${[...written].join(', ')}`] : [];
  for (const d of keptNotes) {
    const s = d();
    if (s !== null) out.push(s);
  }
  return out;
}
