// libsvm/libffm from stdin without numFields: the message names the input and the fix (a regular file), since the
// CLI has no flag for numFields (it read 'numFields is required …' with neither).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';

test('libsvm/libffm from stdin without numFields: ConfigError naming <stdin> and the fix', async () => {
  for (const format of ['libsvm', 'libffm'] as const) {
    await assert.rejects(openReader(format, '-'), {
      name: 'ConfigError',
      message: '<stdin>: numFields is required when reading libsvm/libffm from stdin or a pipe (the input cannot be scanned first to count the fields); give a regular file instead',
    });
  }
});
