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

/** A recorded output was removed again (an older checkpoint rotated out): the interrupt message no longer lists it. */
export function forgetWritten(path: string): void {
  written.delete(path);
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
  const out: string[] = written.size > 0 ? [`written: ${writtenSummary([...written]).join(', ')}`] : [];
  for (const d of keptNotes) {
    const s = d();
    if (s !== null) out.push(s);
  }
  return out;
}

/**
 * The written files, in order; more than 3 in one folder as one entry (a run publishing every few thousand rows
 * writes hundreds):  a.bhm, pub/1.bhm … pub/14.bhm  ->  a.bhm, 14 files in pub/ (1.bhm … 14.bhm)
 */
function writtenSummary(paths: string[]): string[] {
  const folderOf = (p: string): string => p.slice(0, p.lastIndexOf('/') + 1);
  const byFolder = new Map<string, string[]>();
  for (const p of paths) byFolder.set(folderOf(p), [...(byFolder.get(folderOf(p)) ?? []), p]);
  const out: string[] = [];
  const done = new Set<string>();
  for (const p of paths) {
    const f = folderOf(p);
    const all = byFolder.get(f) as string[];
    if (all.length <= 3) out.push(p);
    else if (!done.has(f)) {
      done.add(f);
      out.push(`${all.length} files in ${f === '' ? './' : f} (${all[0].slice(f.length)} … ${all[all.length - 1].slice(f.length)})`);
    }
  }
  return out;
}
