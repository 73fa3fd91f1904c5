// The built package as a user sees it: `import 'bhembed'` through the exports map, and the bin on --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
