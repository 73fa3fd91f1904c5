// --schema is read and validated before any data, and every problem names the file (schema errors named only the
// key, e.g. 'schema.bogus: unknown key', and a top-level one printed 'schema.: must be a JSON object').
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/cli/main.js';
import { tempDir } from '../../e2e/cli-helpers.js';

const dir = tempDir('bhembed-schema-');
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
// the training file does not exist: the schema error must come first
const train = (schema: string): string[] => ['node', 'bhembed', 'train', '--train', join(dir, 'missing.csv'), '--format', 'csv', '--compression', '2', '--schema', schema];

test('--schema: missing file, a directory, not JSON, not an object, an unknown key: one line naming the file', async () => {
  const missing = join(dir, 'nope.json');
  await assert.rejects(run(train(missing)), { name: 'IoError', message: `--schema ${missing}: no such file` });
  await assert.rejects(run(train(dir)), { name: 'IoError', message: `--schema ${dir}: is a directory, expected a JSON file` });
  const notJson = write('a.json', 'label,x\n');
  await assert.rejects(run(train(notJson)), { name: 'ConfigError', message: new RegExp(`^--schema ${notJson}: not valid JSON \\(`) });
  await assert.rejects(run(train(write('b.json', '[1, 2]'))), { name: 'ConfigError', message: `--schema ${join(dir, 'b.json')}: schema: must be a JSON object` });
  await assert.rejects(run(train(write('c.json', '{"label": "y", "categorical": ["a"], "bogus": 1}'))), {
    name: 'ConfigError',
    message: `--schema ${join(dir, 'c.json')}: schema.bogus: unknown key; allowed keys: delimiter, header, label, categorical, numeric, multi`,
  });
});

test('--schema: a valid schema passes the check (the missing training file is the next error)', async () => {
  const ok = write('ok.json', '{"label": "y", "categorical": ["a"]}');
  await assert.rejects(run(train(ok)), { name: 'IoError', message: `${join(dir, 'missing.csv')}: no such file` });
});
