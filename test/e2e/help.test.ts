// Every command answers --help with its usage and exits 0; generate streams rows with probabilities alongside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir } from './cli-helpers.js';

const COMMANDS = ['train', 'eval', 'predict', 'sweep', 'generate', 'demo', 'index', 'inspect', 'export'];

test('bhembed --help lists every command', () => {
  const r = bhembed(['--help']);
  assert.equal(r.status, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
});

test('--help on every command', () => {
  for (const c of COMMANDS) {
    const r = bhembed([c, '--help']);
    assert.equal(r.status, 0, `${c}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: bhembed ${c}`), c);
    assert.match(r.stdout, /Options:/);
  }
  const train = bhembed(['train', '--help']).stdout;
  for (const flag of ['--train', '--valid', '--test', '--format', '--schema', '--model', '--embedding', '--bh-strategy', '--block-bits', '--compression', '--memory-budget', '--dim', '--epochs', '--batch-size', '--lr', '--optimizer', '--threads', '--seed', '--out', '--metrics', '--on-error']) {
    assert.ok(train.includes(flag), flag);
  }
});

test('generate: N rows and N true probabilities', () => {
  const dir = tempDir();
  const out = join(dir, 'g.txt');
  const r = bhembed(['generate', '--rows', '250', '--out', out, '--seed', '3', '--cardinalities', '50']);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(out, 'utf8').replace(/\n$/, '').split('\n'); // not trim(): a row may end in an empty C26 cell
  const probs = readFileSync(`${out}.prob`, 'utf8').trim().split('\n').map(Number);
  assert.equal(rows.length, 250);
  assert.equal(probs.length, 250);
  for (const row of rows) assert.equal(row.split('\t').length, 40);
  for (const p of probs) assert.ok(p > 0 && p < 1);
  const stdout = bhembed(['generate', '--rows', '20', '--seed', '3', '--cardinalities', '50', '--no-prob', '-q']);
  assert.equal(stdout.status, 0);
  assert.deepEqual(stdout.stdout.replace(/\n$/, '').split('\n'), rows.slice(0, 20));
  const missing = bhembed(['generate', '--rows', '5']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--prob-out/);
});
