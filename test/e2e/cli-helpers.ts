// Shared by the CLI end-to-end tests: spawn the built `bhembed` and write tiny planted Criteo-format files
// (generated here, never copied from real data), so each test runs in seconds.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { tempDir as makeTempDir } from '../temp-dir.js';

/** dist/src/cli/bin.js, resolved from this compiled file (dist/test/e2e/). */
export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/bin.js');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function bhembed(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, BHEMBED_DEBUG: '0', NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function tempDir(prefix = 'bhembed-e2e-'): string {
  return makeTempDir(prefix);
}

/**
 * Criteo lines `label \t I1..I13 \t C1..C26` with a planted signal: a few categorical fields carry a per-value
 * logit, so a trained model must reach AUC well above 0.5. Values are drawn from small vocabularies.
 */
export function criteoLines(n: number, seed: number, vocab = 40): string[] {
  const rng = new Rng(seed);
  const planted = new Rng(12345); // same planted effects for every file
  const effects: number[][] = [];
  for (let f = 0; f < 26; f++) effects.push(Array.from({ length: vocab }, () => (f < 4 ? 1.5 * planted.normal() : 0)));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    let logit = -1;
    const ints: string[] = [];
    for (let j = 0; j < 13; j++) ints.push(rng.next() < 0.1 ? '' : String(rng.int(20)));
    const cats: string[] = [];
    for (let f = 0; f < 26; f++) {
      const v = Math.min(vocab - 1, Math.floor(-Math.log(1 - rng.next()) * vocab / 4));
      logit += effects[f][v];
      cats.push(((v * 2654435761 + f * 40503) >>> 0).toString(16).padStart(8, '0'));
    }
    const y = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    lines.push([String(y), ...ints, ...cats].join('\t'));
  }
  return lines;
}

/** Writes train/valid/test Criteo files into dir and returns their paths. */
export function writeCriteoSplits(dir: string, rows = { train: 1500, valid: 300, test: 300 }): { train: string; valid: string; test: string } {
  const paths = { train: join(dir, 'train.txt'), valid: join(dir, 'valid.txt'), test: join(dir, 'test.txt') };
  writeFileSync(paths.train, `${criteoLines(rows.train, 1).join('\n')}\n`);
  writeFileSync(paths.valid, `${criteoLines(rows.valid, 2).join('\n')}\n`);
  writeFileSync(paths.test, `${criteoLines(rows.test, 3).join('\n')}\n`);
  return paths;
}
