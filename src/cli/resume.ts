// `train --resume DIR` and `--checkpoint-dir`: what a checkpoint stores of the command line (the flags as given and
// which were explicit, the folder it ran in, the training files' identity), and the checks before going on: the
// same options (an explicit differing flag is refused with the list of differences) and the same training data.

import { dirname, resolve } from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import { fileIdentity, type FileIdentity } from '../data/identity.js';
import { expandInputs } from '../data/inputs.js';
import { listCheckpoints, readLatestCheckpoint, type CheckpointContents } from '../train/resume/checkpoint-file.js';

/** The CLI's part of a checkpoint (CheckpointHeader.run.cli). */
export interface StoredCommandLine {
  flags: Record<string, unknown>;
  /** Flags the user gave (the rest were defaults). */
  given: string[];
  cwd: string;
  /** Training files (expanded) and their identity. */
  data: { file: string; identity: FileIdentity | null }[];
}

/** Flags that never take part in the comparison: they do not change the model (a given --out or --metrics replaces the stored one). */
const FREE = new Set(['resume', 'quiet', 'out', 'metrics']);
/** Flags holding paths: relative ones are resolved against the folder the run started in. */
const PATHS = ['train', 'valid', 'test', 'schema', 'out', 'metrics', 'checkpointDir', 'publishDir', 'initFrom'];

const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function storeCommandLine(flags: Record<string, unknown>, given: (k: string) => boolean, train: string | string[]): StoredCommandLine {
  const plain = JSON.parse(JSON.stringify(flags)) as Record<string, unknown>;
  delete plain.resume;
  delete plain.quiet;
  const files = expandInputs(train, '--train');
  return {
    flags: plain,
    given: Object.keys(plain).filter((k) => given(k)),
    cwd: process.cwd(),
    data: files.map((f) => ({ file: resolve(f), identity: fileIdentity(f) })),
  };
}

/** A fresh run refuses a checkpoint folder that holds another run's checkpoints (resume it, or give an empty one). */
export function checkFreshCheckpointDir(dir: string): void {
  const list = listCheckpoints(dir);
  if (list.length > 0) throw new UsageError(`--checkpoint-dir ${dir}: holds checkpoints already (${list[0].path}); continue that run with --resume ${dir}, or give an empty folder`);
}

/**
 * The newest checkpoint of `dir` and the flags to go on with: the stored ones, after refusing any explicit flag of
 * this command line that differs (the list of differences in one line) and training data that changed.
 */
export function resumeCommandLine(dir: string, flags: Record<string, unknown>, given: (k: string) => boolean): { ck: CheckpointContents; flags: Record<string, unknown>; given: (k: string) => boolean } {
  const ck = readLatestCheckpoint(dir);
  const cli = (ck.header.run as { cli?: StoredCommandLine }).cli;
  if (cli === undefined) throw new ConfigError(`--resume ${ck.path}: the checkpoint was not written by bhembed train (no stored command line)`);
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(flags)) {
    if (FREE.has(k) || !given(k)) continue;
    const stored = cli.flags[k];
    let mine: unknown = JSON.parse(JSON.stringify(v ?? null));
    let theirs: unknown = stored ?? null;
    if (PATHS.includes(k)) {
      const abs = (x: unknown, base: string): unknown => (typeof x === 'string' ? resolve(base, x) : Array.isArray(x) ? x.map((y) => abs(y, base)) : x);
      mine = abs(mine, process.cwd());
      theirs = abs(theirs, cli.cwd);
    }
    if (k === 'checkpointDir') continue; // the folder may have moved: --resume names it
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) diffs.push(`${flagName(k)}: ${JSON.stringify(theirs)} in the checkpoint, ${JSON.stringify(mine)} given`);
  }
  if (diffs.length > 0) throw new UsageError(`--resume ${dir}: the run goes on with the options it started with; ${diffs.length} given option(s) differ: ${diffs.join('; ')} (drop them, or start a new run)`);
  for (const d of cli.data) {
    let now: FileIdentity | null;
    try {
      now = fileIdentity(d.file);
    } catch {
      throw new ConfigError(`--resume ${dir}: training file ${d.file} is gone (the checkpoint was trained on it)`);
    }
    if (JSON.stringify(now) !== JSON.stringify(d.identity)) throw new ConfigError(`--resume ${dir}: training file ${d.file} changed since the checkpoint (size, time or contents); resuming needs the same data`);
  }
  const out = { ...cli.flags };
  for (const k of PATHS) {
    const v = out[k];
    if (typeof v === 'string') out[k] = resolve(cli.cwd, v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? resolve(cli.cwd, x) : x));
  }
  out.checkpointDir = dirname(resolve(ck.path));
  out.quiet = flags.quiet;
  for (const k of ['out', 'metrics']) if (given(k)) out[k] = flags[k];
  const set = new Set(cli.given);
  return { ck, flags: out, given: (k) => set.has(k) };
}
