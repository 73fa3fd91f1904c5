// `bhembed serve`: :predict equals `bhembed predict` on the same rows for every model type; every malformed body
// gets its 400 naming instance and field; /metrics passes promtool; a real server on loopback swaps in a newly
// published version under load without losing a request, and drains in-flight requests on SIGTERM (exit 0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, bhembed, criteoLines, tempDir } from './cli-helpers.js';
import { Predictor } from '../../src/serve/predictor.js';
import { RowError } from '../../src/data/row-encoder.js';
import { createModelServer } from '../../src/serve/http/server.js';
import type { ModelServer } from '../../src/serve/http/server.js';

const dir = tempDir('bhembed-serve-');
const train = join(dir, 'train.txt');
const rowsFile = join(dir, 'rows.txt');
writeFileSync(train, `${criteoLines(400, 1).join('\n')}\n`);
const lines = criteoLines(60, 5);
writeFileSync(rowsFile, `${lines.join('\n')}\n`);
const NAMES = ['label', ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
/** The rows as a client sends them: integers as JSON numbers, categories as the file's strings, empty cells left out. */
const instances = lines.map((l) => {
  const o: Record<string, string | number> = {};
  l.split('\t').forEach((c, k) => {
    if (k > 0 && c !== '') o[NAMES[k]] = k <= 13 ? Number(c) : c;
  });
  return o;
});

const ARCHS = ['lr', 'fm', 'dnn', 'wdl', 'deepfm', 'dcnv2'] as const;
const models = join(dir, 'models');
function trainTo(out: string, arch: string, seed: number): void {
  const deep = arch === 'lr' || arch === 'fm' ? [] : ['--mlp', '8'];
  const dim = arch === 'lr' ? [] : ['--dim', '4'];
  const r = bhembed(['train', '--train', train, '--format', 'criteo', '--model', arch, ...dim, ...deep, '--embedding', 'hash', '--compression', '4', '--seed', String(seed), '--batch-size', '64', '-q', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
}
for (const a of ARCHS) {
  mkdirSync(join(models, a), { recursive: true });
  trainTo(join(models, a, '1.bhm'), a, 1);
}

/** `bhembed predict` probabilities of rowsFile. */
function offline(model: string): number[] {
  const r = bhembed(['predict', model, rowsFile, '-q']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
}

let server: ModelServer | null = null;
const children: ChildProcess[] = [];
after(async () => {
  await server?.close();
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
});

async function inProcess(): Promise<ModelServer> {
  server ??= await createModelServer({ modelDir: models, pollMs: 0, maxInstances: 100, maxValueLength: 64, bodyLimit: 1 << 20 });
  return server;
}

test(':predict equals `bhembed predict` on the same rows within 1e-6 for every model type', async () => {
  const s = await inProcess();
  for (const a of ARCHS) {
    const want = offline(join(models, a, '1.bhm'));
    // Three requests at once: they are micro-batched together and must still each get their own rows.
    const parts = [instances.slice(0, 7), instances.slice(7, 8), instances.slice(8)];
    const replies = await Promise.all(parts.map((p) => s.app.inject({ method: 'POST', url: `/v1/models/${a}:predict`, payload: { instances: p } })));
    const got: number[] = [];
    for (const r of replies) {
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { predictions: number[]; model_version: string };
      assert.equal(body.model_version, '1');
      got.push(...body.predictions);
    }
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6, `${a} row ${i}: served ${got[i]}, predict ${want[i]}`);
  }
});

test('predictor.predictRows scores plain objects as predictFile scores the same rows; a bad row is a RowError', async () => {
  const p = await Predictor.load(join(models, 'deepfm', '1.bhm'));
  try {
    const want: number[] = [];
    for await (const b of p.predictFile(rowsFile)) want.push(...b.probs);
    const got = await p.predictRows(instances);
    assert.deepEqual(Array.from(got), want);
    await assert.rejects(p.predictRows([{ C1: 'a' }, { I2: 'x' }]), (e: unknown) => e instanceof RowError && e.instance === 1 && e.field === 'I2');
  } finally {
    await p.close();
  }
});

test('each malformed body gets a 400 (413, 415) with a JSON error naming the instance and field, and no stack', async () => {
  const s = await inProcess();
  const cases: Array<{ body: string; type?: string; code: number; instance?: number; field?: string; error: RegExp }> = [
    { body: '{"instances": [', code: 400, error: /malformed JSON/ },
    { body: '', code: 400, error: /malformed JSON|empty/i },
    { body: '[1, 2]', code: 400, error: /JSON object/ },
    { body: '{}', code: 400, error: /'instances'/ },
    { body: '{"instances": []}', code: 400, error: /empty/ },
    { body: '{"instances": {}}', code: 400, error: /list of objects/ },
    { body: '{"instances": [{"C1": "a"}], "extra": 1}', code: 400, error: /unknown key 'extra'/ },
    { body: '{"instances": [{"C1": "a"}, 7]}', code: 400, instance: 1, error: /JSON object/ },
    { body: '{"instances": [{"C1": "a"}, {"C1": true}]}', code: 400, instance: 1, field: 'C1', error: /expected a string or a number, got boolean/ },
    { body: '{"instances": [{"C1": {"x": 1}}]}', code: 400, instance: 0, field: 'C1', error: /expected a string or a number, got an object/ },
    { body: '{"instances": [{"C1": "a"}, {"C1": "b", "Z9": "c"}]}', code: 400, instance: 1, field: 'Z9', error: /unknown field/ },
    { body: '{"instances": [{"I3": "seven"}]}', code: 400, instance: 0, field: 'I3', error: /not an integer/ },
    { body: '{"instances": [{"C1": ["a", "b"]}]}', code: 400, instance: 0, field: 'C1', error: /multi-valued/ },
    { body: `{"instances": [{"C1": "${'x'.repeat(65)}"}]}`, code: 400, instance: 0, field: 'C1', error: /65 characters long, the limit is 64/ },
    { body: JSON.stringify({ instances: Array.from({ length: 101 }, () => ({})) }), code: 400, error: /more than 100 instances/ },
    { body: JSON.stringify({ instances: [{ C1: 'x'.repeat(60) }], pad: 'y'.repeat(1 << 20) }), code: 413, error: /larger than/ },
    { body: '{"instances": [{}]}', type: 'text/plain', code: 415, error: /application\/json/ },
  ];
  for (const c of cases) {
    const r = await s.app.inject({ method: 'POST', url: '/v1/models/dnn:predict', payload: c.body, headers: { 'content-type': c.type ?? 'application/json' } });
    assert.equal(r.statusCode, c.code, `${c.body.slice(0, 60)} → ${r.statusCode} ${r.body}`);
    const body = r.json() as { error: string; instance?: number; field?: string };
    assert.match(body.error, c.error, c.body.slice(0, 60));
    assert.equal(body.instance, c.instance, `${c.body.slice(0, 60)}: instance`);
    assert.equal(body.field, c.field, `${c.body.slice(0, 60)}: field`);
    assert.doesNotMatch(r.body, /\bat .*\.js:\d+/, 'no stack trace');
  }
  const nf = await s.app.inject({ method: 'POST', url: '/v1/models/nope:predict', payload: { instances: [{}] } });
  assert.equal(nf.statusCode, 404);
  // Still serving after all that.
  const ok = await s.app.inject({ method: 'POST', url: '/v1/models/dnn:predict', payload: { instances: [{ C1: 'a' }] } });
  assert.equal(ok.statusCode, 200);
});

test('status, health and /metrics (promtool check metrics passes)', async (t) => {
  const s = await inProcess();
  const st = await s.app.inject({ method: 'GET', url: '/v1/models/dnn' });
  assert.deepEqual(st.json(), { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
  assert.equal((await s.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 200);
  assert.equal((await s.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 200);
  const m = await s.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(m.statusCode, 200);
  for (const name of ['bhembed_requests_total', 'bhembed_request_errors_total', 'bhembed_rows_total', 'bhembed_request_duration_seconds_bucket', 'bhembed_batch_rows_bucket', 'bhembed_model_version', 'bhembed_process_resident_memory_bytes']) {
    assert.match(m.body, new RegExp(`^${name}`, 'm'), name);
  }
  assert.match(m.body, /^bhembed_model_version\{model="dnn"\} 1$/m);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
  if (promtool.error !== undefined) {
    t.skip('promtool not installed (apt-get install prometheus; .ci/run installs it where apt-get exists)');
    return;
  }
  assert.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
});

test('a plain NAME.bhm is reloaded as the next version when the file is replaced or rewritten; a broken file leaves the served one', async () => {
  const plain = join(dir, 'plain');
  mkdirSync(plain, { recursive: true });
  const file = join(plain, 'ctr.bhm');
  copyFileSync(join(models, 'dnn', '1.bhm'), file);
  const s = await createModelServer({ modelDir: plain, pollMs: 20 });
  try {
    const predict = async (): Promise<{ predictions: number[]; model_version: string }> => {
      const r = await s.app.inject({ method: 'POST', url: '/v1/models/ctr:predict', payload: { instances } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { predictions: number[]; model_version: string };
    };
    const state = async (version: string): Promise<{ state: string; status: { error_message: string } } | undefined> => {
      const st = (await s.app.inject({ method: 'GET', url: '/v1/models/ctr' })).json() as { model_version_status: Array<{ version: string; state: string; status: { error_message: string } }> };
      return st.model_version_status.find((v) => v.version === version);
    };
    const until = async (version: string, want: string): Promise<void> => {
      for (let i = 0; i < 500 && (await state(version))?.state !== want; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await state(version))?.state, want, `version ${version} never became ${want}`);
    };
    const near = (got: number[], want: number[]): void => {
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6, `row ${i}: ${got[i]} vs ${want[i]}`);
    };
    const dnn = offline(join(models, 'dnn', '1.bhm'));
    const fm = offline(join(models, 'fm', '1.bhm'));
    let r = await predict();
    assert.equal(r.model_version, '1');
    near(r.predictions, dnn);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal((await predict()).model_version, '1', 'an unchanged file is not reloaded');

    // Replaced by a rename (a new inode), as training publishes.
    copyFileSync(join(models, 'fm', '1.bhm'), join(plain, '.ctr.tmp'));
    renameSync(join(plain, '.ctr.tmp'), file);
    await until('2', 'AVAILABLE');
    r = await predict();
    assert.equal(r.model_version, '2');
    near(r.predictions, fm);
    assert.equal((await state('1'))?.state, 'END');

    // Rewritten in place with a broken file: reported, version 2 keeps serving.
    writeFileSync(file, 'not a model');
    for (let i = 0; i < 500 && (await state('3'))?.status.error_message === undefined; i++) await new Promise((res) => setTimeout(res, 20));
    assert.match((await state('3'))?.status.error_message ?? '', /ctr\.bhm/);
    assert.equal((await predict()).model_version, '2');

    // Rewritten in place (same inode) with a good file: version 3 after all.
    writeFileSync(file, readFileSync(join(models, 'dnn', '1.bhm')));
    await until('3', 'AVAILABLE');
    r = await predict();
    assert.equal(r.model_version, '3');
    near(r.predictions, dnn);
  } finally {
    await s.close();
  }
});

/** Start `bhembed serve` on a free loopback port; resolves with its port once it listens. */
function startServer(modelDir: string): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--model-dir', modelDir, '--port', '0', '--poll-ms', '50'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), log: () => err });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

test('hot swap under load loses no request; every request sent after the swap gets the new version; SIGTERM drains and exits 0', async () => {
  const live = join(dir, 'live');
  mkdirSync(join(live, 'ctr'), { recursive: true });
  copyFileSync(join(models, 'dnn', '1.bhm'), join(live, 'ctr', '1.bhm'));
  const v2 = join(dir, 'v2.bhm');
  trainTo(v2, 'dnn', 2);
  const { child, port, log } = await startServer(live);
  const url = `http://127.0.0.1:${port}/v1/models/ctr:predict`;
  const body = JSON.stringify({ instances: instances.slice(0, 4) });
  const results: Array<{ sent: number; status: number; version: string; first: number }> = [];
  let swappedAt = Infinity;
  let stop = false;
  const client = async (): Promise<void> => {
    while (!stop) {
      const sent = performance.now();
      const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const j = (await r.json()) as { model_version: string; predictions: number[] };
      results.push({ sent, status: r.status, version: j.model_version, first: j.predictions?.[0] });
    }
  };
  const clients = Array.from({ length: 8 }, () => client());
  await new Promise((r) => setTimeout(r, 300));
  // Publish as training does: write beside, rename into place.
  copyFileSync(v2, join(live, 'ctr', '.2.bhm.tmp'));
  renameSync(join(live, 'ctr', '.2.bhm.tmp'), join(live, 'ctr', '2.bhm'));
  for (let i = 0; i < 200 && swappedAt === Infinity; i++) {
    const st = (await (await fetch(`http://127.0.0.1:${port}/v1/models/ctr`)).json()) as { model_version_status: Array<{ version: string; state: string }> };
    if (st.model_version_status.some((v) => v.version === '2' && v.state === 'AVAILABLE')) swappedAt = performance.now();
    else await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(clients);
  assert.ok(swappedAt < Infinity, `version 2 never became available: ${log()}`);
  assert.ok(results.every((r) => r.status === 200), 'every request answered 200');
  const before = results.filter((r) => r.version === '1');
  const afterSwap = results.filter((r) => r.sent > swappedAt);
  assert.ok(before.length > 0 && afterSwap.length > 0, `requests on both sides of the swap (${before.length}, ${afterSwap.length})`);
  assert.ok(afterSwap.every((r) => r.version === '2'), 'every request sent after the swap got version 2');
  const want2 = offline(v2)[0];
  for (const r of results) if (r.version === '2') assert.ok(Math.abs(r.first - want2) <= 1e-6, 'version 2 responses score with the version 2 model');

  // SIGTERM with requests in flight: each is answered, then the process exits 0. SIGTERM is sent once the server
  // holds all 12 (in flight or answered), so none can be refused for arriving after it.
  const OK = /^bhembed_requests_total\{model="ctr",code="200"\} (\d+)/m;
  const IN = /^bhembed_requests_in_flight\{model="ctr"\} (\d+)/m;
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const num = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  const ok0 = num(await metrics(), OK);
  const big = JSON.stringify({ instances: Array.from({ length: 2000 }, (_, i) => instances[i % instances.length]) });
  const inflight = Array.from({ length: 12 }, () => fetch(url, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } }).then((r) => r.status));
  for (let i = 0; i < 500; i++) {
    const text = await metrics(); // one scrape: a request moves from in flight to answered between two
    const held = num(text, IN) + num(text, OK) - ok0;
    if (held >= 12) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(inflight), new Array(12).fill(200));
  assert.equal(await exited, 0, log());
  assert.match(log(), /SIGTERM: draining/);
});
