// Build: AssemblyScript kernels -> dist/src/kernels/kernels.wasm, then tsc for src, test and bench.
// Runs offline: both compilers come from node_modules.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
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
// tsc never deletes: a compiled file whose source was moved or deleted would still run (a stale test under
// dist/test/ fails or, worse, passes). Remove every emitted .js/.d.ts whose .ts source is gone.
const generated = new Set([join(root, 'dist/src/web/bhembed-web.js')]);
function pruneStale(distDir, srcDir) {
  if (!existsSync(distDir)) return;
  for (const e of readdirSync(distDir, { withFileTypes: true })) {
    const out = join(distDir, e.name);
    if (e.isDirectory()) {
      pruneStale(out, join(srcDir, e.name));
      if (readdirSync(out).length === 0) rmSync(out, { recursive: true });
      continue;
    }
    const m = /^(.*?)(\.d\.ts|\.js)$/.exec(e.name);
    if (m === null || generated.has(out)) continue;
    if (!existsSync(join(srcDir, `${m[1]}.ts`))) rmSync(out);
  }
}
for (const top of ['src', 'test', 'bench', 'scripts']) pruneStale(join(root, 'dist', top), join(root, top));
// The browser bundle of the `bhembed/web` entry (ESM, minified) with kernels.wasm inlined: web/kernel-bytes.js is
// swapped for the file's bytes. Dynamic imports of node: modules stay external (never reached in a browser); a
// static one would break the page, so it fails the build. The onnxruntime-node seam becomes a stub.
const webEntry = join(root, 'dist/src/web/index.js');
if (existsSync(webEntry)) {
  const esbuild = await import('esbuild');
  const wasmPath = join(root, 'dist/src/kernels/kernels.wasm');
  await esbuild.build({
    entryPoints: [webEntry],
    outfile: join(root, 'dist/src/web/bhembed-web.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    loader: { '.wasm': 'binary' },
    plugins: [
      {
        name: 'bhembed-web',
        setup(b) {
          b.onResolve({ filter: /^node:/ }, (a) => {
            if (a.kind === 'dynamic-import') return { path: a.path, external: true };
            return { errors: [{ text: `${a.importer} imports ${a.path}: the web bundle must not need Node built-ins` }] };
          });
          // The onnxruntime-node seam is loaded lazily by kernels/index.ts and never in a browser: a stub that says so.
          b.onResolve({ filter: /[\\/]ort\.js$/ }, (a) => (a.kind === 'dynamic-import' ? { path: 'ort-node', namespace: 'bhembed-stub' } : undefined));
          b.onLoad({ filter: /.*/, namespace: 'bhembed-stub' }, () => ({ contents: 'export const OrtGemmProvider = { create() { throw new Error("onnxruntime-node is not available in the browser"); } };', loader: 'js' }));
          b.onLoad({ filter: /[\\/]web[\\/]kernel-bytes\.js$/ }, () => ({
            contents: `import bytes from ${JSON.stringify(wasmPath)};\nexport function kernelBytes() { return Promise.resolve(bytes); }\n`,
            resolveDir: root,
            loader: 'js',
          }));
        },
      },
    ],
  });
}
// tsc writes files without the executable bit; npx and the npm bin link need it on the CLI entry.
const cliEntry = join(root, 'dist/src/cli/bin.js');
if (existsSync(cliEntry)) chmodSync(cliEntry, 0o755);
