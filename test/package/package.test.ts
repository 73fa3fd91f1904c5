// The built package as a user sees it: `import 'bhembed'` through the exports map, and the bin on --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../temp-dir.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('import "bhembed" resolves through the exports map and indexes like the CLI', () => {
  const script = `
    const b = await import('bhembed');
    const ix = b.createIndexer({ method: 'bh', codeBits: 8, blockBits: 3, strategy: 'succession' });
    const ids = new Uint32Array([0b10110101, 0]);
    const out = new Int32Array(ix.rowsPerValue);
    ix.index(ids, 1, out);
    console.log(JSON.stringify({ rows: ix.numRows, k: ix.rowsPerValue, out: Array.from(out), hash: b.xxh64String('', 0).toString(16) }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  // S=8, t=3: blocks of 3, 3, 2 bits -> 8 + 8 + 4 rows. Code 10110101: block0 = 101 = 5, block1 = 110 = 6, block2 = 10 = 2.
  assert.deepEqual(got, { rows: 20, k: 3, out: [5, 8 + 6, 16 + 2], hash: 'ef46db3751d8e999' });
});

test('the bhembed bin prints help and exits 0', () => {
  const r = spawnSync(process.execPath, [resolve(root, 'dist/src/cli/bin.js'), '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: bhembed/);
  for (const cmd of ['train', 'eval', 'predict', 'sweep', 'generate', 'demo', 'index', 'inspect']) assert.match(r.stdout, new RegExp(`\\n\\s+${cmd}\\b`));
});

test('import "bhembed/web" resolves to the self-contained bundle, which hashes and scores in Node too', () => {
  const script = `
    const b = { ...(await import('bhembed')), ...(await import('./dist/src/models/model-file.js')), ...(await import('./dist/src/kernels/index.js')) };
    const web = await import('bhembed/web');
    const url = import.meta.resolve('bhembed/web');
    const config = { arch: 'lr', fields: [{ name: 'site', index: { method: 'hash', rows: 7 } }] };
    const ops = await b.createOps('reference');
    const m = b.createModel(config, { ops, maxBatch: 4 });
    const table = m.parameters().find((p) => p.name === 'linear.table');
    table.data.set([0, 1, 2, 3, 4, 5, 6]);
    const meta = { data: { format: 'avazu', fieldNames: ['site'], denseNames: [], reader: {} } };
    const bytes = b.encodeModelFile(m.config, meta, m.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data })));
    const wm = await web.WebModel.load(bytes);
    const p = await wm.score([{ site: 'hello' }]);
    const id = wm.toIds([{ site: 'hello' }])[0].ids[0][0];
    console.log(JSON.stringify({ bundle: url.endsWith('web/bhembed-web.js'), id: id.toString(16), p: p[0] }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  // XXH64("hello", 0) = 26c7827d889f6da3 (docs/index-spec.md), row = h mod 7, the table holds the row number.
  const row = Number(BigInt('0x26c7827d889f6da3') % 7n);
  assert.deepEqual({ bundle: got.bundle, id: got.id }, { bundle: true, id: '26c7827d889f6da3' });
  assert.ok(Math.abs(got.p - 1 / (1 + Math.exp(-row))) < 1e-6, `p = ${got.p}, row ${row}`);
});

// The packed tarball installed as a dependency of a fresh project, as a user would (`npm install bhembed`), with only
// the npm registry reachable: nothing may be downloaded by an install script (onnxruntime-node's postinstall fetches
// CUDA files on linux/x64, upstream onnxruntime issues 24770 and 24918), and npm must print no warning. onnxruntime-node
// is an optional peer dependency, so it is not installed; training falls back to the WASM GEMM and int8 serving says
// how to add it.
test('npm pack, then npm install of the tarball into a fresh project: no warnings, no onnxruntime, the CLI and import work', () => {
  // npm run test passes its own config (the repo's ignore-scripts=true among it) as npm_* variables: scrub them, so
  // the install runs with the consumer's settings and install scripts enabled, as for a user.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const work = tempDir('bhembed-pack-');
  const pack = spawnSync('npm', ['pack', '--pack-destination', work, '--ignore-scripts'], { cwd: root, encoding: 'utf8', env });
  assert.equal(pack.status, 0, pack.stderr);
  const tgz = join(work, pack.stdout.trim().split('\n').at(-1) as string);
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tgz], { cwd: app, encoding: 'utf8', env });
  assert.equal(install.status, 0, install.stderr);
  assert.equal(install.stderr, '', 'npm install printed warnings or errors');
  assert.doesNotMatch(install.stdout, /onnxruntime|postinstall/i, 'an install script ran');
  assert.equal(existsSync(join(app, 'node_modules/onnxruntime-node')), false, 'onnxruntime-node is optional: not installed');
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  assert.deepEqual(Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([k]) => k), []);

  const bin = join(app, 'node_modules/.bin/bhembed');
  const data = resolve(root, 'test/fixtures/criteo.tsv');
  const trained = spawnSync(bin, ['train', '--train', data, '--test', data, '--format', 'criteo', '--model', 'dnn', '--mlp', '8', '--embedding', 'bh', '--compression', '4', '--out', 'm.bhm', '-q'], { cwd: app, encoding: 'utf8', env });
  assert.equal(trained.status, 0, trained.stderr);
  assert.equal(trained.stderr, '');
  assert.match(trained.stdout, /test: {2}AUC 0\.\d{4}/);
  const int8 = spawnSync(bin, ['eval', 'm.bhm', data, '--precision', 'int8'], { cwd: app, encoding: 'utf8', env });
  assert.equal(int8.status, 2);
  assert.match(int8.stderr, /precision 'int8' needs onnxruntime-node, an optional dependency that is not installed: add it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`/);
  const imported = spawnSync(process.execPath, ['--input-type=module', '-e', "const b = await import('bhembed'); console.log(typeof b.trainModel, typeof b.Predictor)"], { cwd: app, encoding: 'utf8', env });
  assert.equal(imported.status, 0, imported.stderr);
  assert.equal(imported.stdout.trim(), 'function function');
});

test('the bhembed/web bundle stays within 300 KB gzipped (what a page downloads)', () => {
  const bundle = readFileSync(resolve(root, 'dist/src/web/bhembed-web.js'));
  const gz = gzipSync(bundle, { level: 9 }).length;
  assert.ok(gz <= 300 * 1024, `bundle ${bundle.length} bytes, ${gz} gzipped`);
  // kernels.wasm is inlined (the page makes no second request): esbuild writes it as base64, which starts with the
  // base64 of the WASM magic number "\0asm".
  assert.ok(bundle.includes('AGFzbQ'), 'kernels.wasm inlined');
});
