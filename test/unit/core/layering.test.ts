// Enforces the import direction core → hash → kernels → {embedding, nn} → models → {train, export, web} → {serve, cli},
// with experiment/ (pipeline, sweep, report, plot) between train and cli, cluster/ above experiment (cli only imports it),
// with data/ beside them (data imports only core and hash). Convention alone leaks; this test does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const srcDir = join(root, 'src');

/** Which top-level folders each folder may import from (itself always allowed). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  hash: ['core'],
  kernels: ['core', 'hash'],
  embedding: ['core', 'hash', 'kernels'],
  nn: ['core', 'hash', 'kernels', 'embedding'],
  data: ['core', 'hash'],
  models: ['core', 'hash', 'kernels', 'embedding', 'nn'],
  train: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data'],
  serve: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data'],
  export: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models'],
  web: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data', 'export'],
  // Experiment tooling (pipeline, sweep, report, plot) sits on the training engine; the engine never imports it.
  experiment: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data', 'train'],
  cli: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data', 'train', 'experiment', 'serve', 'export', 'cluster'],
  cluster: ['core', 'hash', 'kernels', 'embedding', 'nn', 'models', 'data', 'train', 'experiment'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p === join(srcDir, 'kernels', 'wasm', 'assembly')) continue; // AssemblyScript, own tsconfig
      walk(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) specs.push(m[1] ?? m[2]);
  return specs;
}

test('src/ imports follow the layer direction', () => {
  const violations: string[] = [];
  const files = walk(srcDir);
  assert.ok(files.length > 0);
  for (const file of files) {
    const rel = relative(srcDir, file);
    const from = rel.split(sep)[0];
    if (!rel.includes(sep)) continue; // src/index.ts: the public entry may import anything
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      violations.push(`${rel}: folder '${from}' is not in the layer list`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = relative(srcDir, resolve(dirname(file), spec));
        if (target.startsWith('..')) {
          violations.push(`${rel}: imports '${spec}' outside src/`);
          continue;
        }
        const to = target.split(sep)[0];
        if (!target.includes(sep)) violations.push(`${rel}: imports the public entry '${spec}'`);
        else if (to !== from && !allowed.includes(to)) violations.push(`${rel}: '${from}' may not import '${to}' ('${spec}')`);
      } else if (spec === 'onnxruntime-node' || spec.startsWith('onnxruntime')) {
        if (from !== 'kernels') violations.push(`${rel}: only kernels/ may import onnxruntime ('${spec}')`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the checker itself catches a violation', () => {
  assert.deepEqual(importsOf(`import { x } from '../train/trainer.js';\nconst m = await import('../cli/main.js');`), [
    '../train/trainer.js',
    '../cli/main.js',
  ]);
});
