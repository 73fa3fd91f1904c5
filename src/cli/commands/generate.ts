// `bhembed generate`: streamed synthetic Criteo-format data from a planted teacher (data/generate.ts), to a file or
// stdout, with each row's true click probability alongside (a .prob file, one line per row). O(1) memory.

import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { CRITEO_KAGGLE_CARDINALITIES, MAX_PAIRS, generateCriteo } from '../../data/generate.js';
import type { GenerateOptions } from '../../data/generate.js';
import { parseFloatOpt, parseIntOpt, parseList } from '../options.js';
import { checkOutputFile } from '../common.js';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';

interface GenerateFlags {
  rows: string;
  out: string;
  probOut?: string;
  prob: boolean;
  seed: string;
  teacherSeed: string;
  cardinalities: string;
  zipf: string;
  ctr: string;
  signal: string;
  pairs: string;
  quiet?: boolean;
}

/** Named cardinality presets: Criteo Kaggle's 26 fields, or the same shape scaled down. */
export function parseCardinalities(text: string): readonly number[] {
  const m = /^kaggle(?:\/(\d+(?:\.\d+)?))?$/.exec(text);
  if (m) {
    const div = m[1] === undefined ? 1 : Number(m[1]);
    if (!(div >= 1)) throw new UsageError(`--cardinalities: kaggle/D needs D ≥ 1, got '${text}'`);
    return CRITEO_KAGGLE_CARDINALITIES.map((c) => Math.max(2, Math.round(c / div)));
  }
  const list = parseList(text).map((s) => parseIntOpt('--cardinalities', s, 1, 2 ** 31));
  if (list.length === 1) return new Array<number>(26).fill(list[0]);
  if (list.length !== 26) throw new UsageError(`--cardinalities: give 'kaggle', 'kaggle/D', one number for all 26 fields, or 26 numbers (got ${list.length})`);
  return list;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('write synthetic Criteo-format rows (label, I1..I13, C1..C26) from a planted model, with true probabilities')
    .requiredOption('--rows <n>', 'rows to write')
    .option('--out <file>', "output file ('.gz' compresses; '-' = stdout)", '-')
    .option('--prob-out <file>', 'true probabilities, one per line (default: <out>.prob; needed with --out -)')
    .option('--no-prob', 'do not write probabilities')
    .option('--seed <s>', 'seed of the rows drawn: give each file of a train/valid/test set its own', '1')
    .option('--teacher-seed <s>', 'seed of the planted model (weights, value strings, click rate): keep it equal across the files of one experiment', '1')
    .option('--cardinalities <spec>', "distinct values per categorical field: 'kaggle', 'kaggle/D' (divided by D), one number, or 26 numbers", 'kaggle/100')
    .option('--zipf <s>', 'Zipf exponent of value frequencies', '1.1')
    .option('--ctr <p>', 'mean click rate', '0.25')
    .option('--signal <x>', "scale of the teacher's weights (larger = easier)", '1')
    .option('--pairs <n>', 'pairwise interaction terms', '4')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      '\nExamples:\n  bhembed generate --rows 100000 --out synth.txt            # + synth.txt.prob\n' +
        '  bhembed generate --rows 80000 --out train.tsv --seed 1    # a train/test pair: one teacher, two samples\n' +
        '  bhembed generate --rows 20000 --out test.tsv --seed 2\n' +
        '  bhembed generate --rows 1000 --prob-out p.txt | head',
    )
    .action(async (flags: GenerateFlags) => {
      const rows = parseIntOpt('--rows', flags.rows, 0);
      const toStdout = flags.out === '-';
      let probOut: GenerateOptions['probOut'];
      if (!flags.prob) probOut = null;
      else if (flags.probOut !== undefined) probOut = flags.probOut;
      else if (toStdout) throw new UsageError('generate --out -: give --prob-out FILE for the true probabilities, or --no-prob');
      checkOutputFile('--out', flags.out);
      if (typeof probOut === 'string') checkOutputFile('--prob-out', probOut);
      if (typeof probOut === 'string' && !toStdout && resolve(probOut) === resolve(flags.out)) {
        throw new UsageError(`--prob-out ${probOut}: same file as --out; the probabilities would overwrite the rows`);
      }
      const ctr = parseFloatOpt('--ctr', flags.ctr, 0, 1, true);
      if (ctr >= 1) throw new UsageError(`--ctr: ${ctr} is out of range (must be > 0 and < 1)`);
      const seed = parseIntOpt('--seed', flags.seed, 0, 4294967295);
      const teacherSeed = parseIntOpt('--teacher-seed', flags.teacherSeed, 0, 4294967295);
      const st = await generateCriteo({
        rows,
        out: toStdout ? process.stdout : flags.out,
        probOut,
        seed,
        teacherSeed,
        cardinalities: parseCardinalities(flags.cardinalities),
        zipfExponent: parseFloatOpt('--zipf', flags.zipf, 0, Infinity, true),
        ctr,
        signal: parseFloatOpt('--signal', flags.signal, 0),
        pairs: parseIntOpt('--pairs', flags.pairs, 0, MAX_PAIRS),
      });
      const same = toStdout || rows === 0 || st.warnings.length > 0 ? null : sameRowsAs(flags.out);
      if (same !== null) st.warnings.push(`${flags.out} starts with the same rows as ${same} (same --seed and --teacher-seed): a test set would repeat training rows; give each file its own --seed`);
      for (const w of st.warnings) process.stderr.write(`bhembed generate: warning: ${w}\n`);
      if (!flags.quiet) {
        const where = toStdout ? 'stdout' : flags.out;
        const probWhere = probOut === null ? 'no probabilities' : `probabilities in ${probOut ?? `${flags.out}.prob`}`;
        process.stderr.write(
          `generated ${st.rows} rows to ${where} (${probWhere}) in ${st.seconds.toFixed(1)} s (seed ${seed}, teacher seed ${teacherSeed}): ${st.positives} clicks (${((100 * st.positives) / Math.max(1, st.rows)).toFixed(1)}%), Bayes-optimal AUC ${st.bayesAuc.toFixed(4)}\n`,
        );
      }
    });
}

/** The first line of a (possibly gzip) file, or null when it cannot be read. */
function firstLine(path: string): string | null {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    let head = buf.subarray(0, n);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) head = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    const nl = head.indexOf(10);
    return nl < 0 ? null : head.subarray(0, nl).toString('latin1');
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Another file in out's folder whose first row is out's first row: written with the same --seed and --teacher-seed
 * (a row holds 39 drawn values, so equal first rows do not happen by chance). null when there is none.
 */
function sameRowsAs(out: string): string | null {
  const mine = firstLine(out);
  if (mine === null) return null;
  const dir = dirname(out);
  const self = resolve(out);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const ext = (n: string): string => /(\.[^./]*)?$/.exec(n.replace(/\.gz$/i, ''))?.[0] ?? '';
  for (const name of names.sort()) {
    if (ext(name) !== ext(basename(out))) continue; // data files of the same kind only (a folder may hold many files)
    const path = join(dir, name);
    if (resolve(path) === self || name.endsWith('.prob') || name.endsWith('.prob.gz') || name === `${basename(out)}.prob`) continue;
    try {
      if (!statSync(path).isFile()) continue;
    } catch {
      continue;
    }
    if (firstLine(path) === mine) return path;
  }
  return null;
}
