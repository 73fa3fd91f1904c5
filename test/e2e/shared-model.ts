// One trained model shared by the e2e files that only need "a small trained BH model with its data" (precision,
// int8-static): the first file to ask trains it (in-process) into dist/test/.shared-model/<key>/ and the others wait
// for it and reuse it, instead of each training its own. The key hashes the compiled sources and the train flags,
// so a rebuild that changes anything trains a new one. node --test runs files in parallel processes: a directory
// made with mkdir (atomic) is the lock, a 'done' file marks the model ready.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCriteoSplits } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(here, '../../src');

export interface SharedModel {
  data: { train: string; valid: string; test: string };
  model: string;
  /** train's --metrics JSON. */
  metrics: Record<string, any>;
}

/** The flags of the shared model: BH with 3-bit blocks, a 32,32 DNN tower, 2 epochs on 1200 planted rows. */
export const SHARED_TRAIN_FLAGS = ['--format', 'criteo', '--embedding', 'bh', '--block-bits', '3', '--dim', '4', '--mlp', '32,32', '--epochs', '2', '--batch-size', '128', '--lr', '0.01', '-q'];

function sourceKey(): string {
  const h = createHash('sha1');
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') || e.name.endsWith('.wasm')) h.update(p.slice(SRC.length)).update(readFileSync(p));
    }
  };
  walk(SRC);
  h.update(SHARED_TRAIN_FLAGS.join(' '));
  return h.digest('hex').slice(0, 16);
}

export async function sharedModel(): Promise<SharedModel> {
  const dir = resolve(here, '../.shared-model', sourceKey());
  const done = join(dir, 'done');
  const lock = `${dir}.lock`;
  const result = (): SharedModel => ({ data: { train: join(dir, 'train.txt'), valid: join(dir, 'valid.txt'), test: join(dir, 'test.txt') }, model: join(dir, 'm.bhm'), metrics: JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) });
  if (existsSync(done)) return result();
  mkdirSync(dirname(dir), { recursive: true });
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch {
    // Another file trains it: wait for 'done' (or for its lock to vanish without it, then train here).
    for (let i = 0; i < 1200 && !existsSync(done) && existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
    if (existsSync(done)) return result();
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const data = writeCriteoSplits(dir, { train: 1200, valid: 300, test: 600 });
    const r = await bhembedInProcess(['train', '--train', data.train, '--test', data.test, ...SHARED_TRAIN_FLAGS, '--out', join(dir, 'm.bhm'), '--metrics', join(dir, 'm.json')]);
    if (r.status !== 0) throw new Error(`shared model: train failed (${r.status}): ${r.stderr}`);
    writeFileSync(done, '');
    return result();
  } finally {
    if (mine) rmSync(lock, { recursive: true, force: true });
  }
}
