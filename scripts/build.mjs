// Build: AssemblyScript kernels -> dist/src/kernels/kernels.wasm, then tsc for src, test and bench.
// Runs offline: both compilers come from node_modules.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}
const asEntry = join(root, 'src/kernels/wasm/assembly/index.ts');
if (existsSync(asEntry)) {
  mkdirSync(join(root, 'dist/src/kernels'), { recursive: true });
  run(bin('asc'), [asEntry, '--config', join(root, 'src/kernels/wasm/asconfig.json'), '--target', 'release']);
}
run(bin('tsc'), ['-p', join(root, 'tsconfig.json')]);
// tsc writes files without the executable bit; npx and the npm bin link need it on the CLI entry.
const cliEntry = join(root, 'dist/src/cli/bin.js');
if (existsSync(cliEntry)) chmodSync(cliEntry, 0o755);
