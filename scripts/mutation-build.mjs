// Stryker's build step in its sandbox (stryker.config.mjs): every TS file of src/ and test/ transpiled one to one
// into dist/ by esbuild (no type check: tsc already checked the unmutated sources in npm run build, and the
// instrumented files carry @ts-nocheck), in seconds instead of tsc's minutes on a busy machine; the WASM kernels
// are copied from the project's own dist (scripts/mutation.mjs builds them first; no kernel is mutated).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = process.env.MUTATION_ROOT;
if (!root) throw new Error('mutation-build: MUTATION_ROOT (the project root) is not set; run through npm run test:mutation');
const entryPoints = ['src', 'test']
  .flatMap((d) => readdirSync(d, { recursive: true }).map((f) => join(d, String(f))))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith(join('src', 'kernels', 'wasm', 'assembly')));
await build({ entryPoints, outdir: 'dist', outbase: '.', format: 'esm', platform: 'node', target: 'es2022', bundle: false, logLevel: 'error', tsconfig: 'tsconfig.json' });
mkdirSync(join('dist', 'src', 'kernels'), { recursive: true });
copyFileSync(join(root, 'dist', 'src', 'kernels', 'kernels.wasm'), join('dist', 'src', 'kernels', 'kernels.wasm'));
