// Stryker's build step in its sandbox (stryker.config.mjs): tsc over the instrumented sources, and the WASM
// kernels copied from the project's own dist (scripts/mutation.mjs builds them first; no kernel is mutated, and
// the AssemblyScript compiler does not run in the sandbox).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.MUTATION_ROOT;
if (!root) throw new Error('mutation-build: MUTATION_ROOT (the project root) is not set; run through npm run test:mutation');
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
mkdirSync('dist/src/kernels', { recursive: true });
copyFileSync(join(root, 'dist', 'src', 'kernels', 'kernels.wasm'), join('dist', 'src', 'kernels', 'kernels.wasm'));
