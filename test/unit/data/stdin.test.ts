// stdin ('-'): one pass works (plain and gzip, header formats too), a second pass is a clear IoError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

const OPEN = new URL('../../../src/data/open.js', import.meta.url).href;

function runWithStdin(format: string, input: Uint8Array, options = '{}'): { out: string; err: string } {
  const script = `
    const { openReader } = await import(${JSON.stringify(OPEN)});
    const r = await openReader(${JSON.stringify(format)}, '-', ${options});
    let n = 0, pos = 0;
    for await (const c of r.chunks()) { n += c.rows; for (let i = 0; i < c.rows; i++) pos += c.labels[i]; }
    console.log('rows', n, 'positives', pos, 'canRewind', r.canRewind);
    try { for await (const c of r.chunks()) {} console.log('second pass ran'); }
    catch (e) { console.log('second', e.name, e.message); }
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: input, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr };
}

const line = (i: number): string => [String(i % 2), ...Array.from({ length: 13 }, () => '1'), ...Array.from({ length: 26 }, () => 'ab')].join('\t');
const text = Array.from({ length: 300 }, (_, i) => line(i)).join('\n') + '\n';

test('stdin: one pass, plain and gzip; second pass → IoError saying stdin is read once', () => {
  for (const input of [Buffer.from(text), gzipSync(text)]) {
    const { out, err } = runWithStdin('criteo', input);
    assert.equal(err, '');
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'rows 300 positives 150 canRewind false');
    assert.equal(
      lines[1],
      'second IoError <stdin>: stdin can be read only once, but a second pass over the data was asked for; give a file path instead of "-"',
    );
  }
});

test('stdin: header formats keep the consumed header line for the first pass', () => {
  const csv = 'id,click,hour,C1\n' + Array.from({ length: 10 }, (_, i) => `${i},${i % 2},14102100,x${i}`).join('\n');
  const { out } = runWithStdin('avazu', Buffer.from(csv));
  assert.equal(out.trim().split('\n')[0], 'rows 10 positives 5 canRewind false');
});

test('stdin: libsvm without numFields cannot be scanned first', () => {
  const { out, err } = runWithStdin('libsvm', Buffer.from('1 1:1\n'));
  assert.equal(out, '');
  assert.match(err, /numFields is required when reading libsvm\/libffm from stdin/);
});

test('a named pipe is read once; a second pass says so', { timeout: 10000 }, async () => {
  const { tmpDir } = await import('./helpers.js');
  const { writeFile } = await import('node:fs/promises');
  const fifo = `${tmpDir()}/pipe-${process.pid}`;
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // The writer opens the pipe in the thread pool and blocks until the reader opens it, in this same process.
  const writing = writeFile(fifo, `${line(0)}\n${line(1)}\n`);
  const { openReader } = await import('../../../src/data/open.js');
  const r = await openReader('criteo', fifo);
  let n = 0;
  for await (const c of r.chunks()) n += c.rows;
  await writing;
  assert.equal(n, 2);
  await assert.rejects(
    (async () => {
      for await (const c of r.chunks()) void c;
    })(),
    { name: 'IoError', message: `${fifo}: a pipe can be read only once, but a second pass over the data was asked for; give a regular file` },
  );
});
