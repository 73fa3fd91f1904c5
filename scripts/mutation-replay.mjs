// Re-test the survivors (Survived, NoCoverage) of a StrykerJS report against the current tests, one mutant at a time,
// without a whole Stryker run: each is applied alone to a copy of src/ and test/ (at its location; when the file has
// changed since the report, at the one line of the current file with the same text, else reported as moved), the
// copy is transpiled as the Stryker sandbox is (scripts/mutation-build.mjs), and the folder's test files run (as
// stryker.config.mjs lists them). For after adding tests that target a run's survivors.
//   node scripts/mutation-replay.mjs <folder> [report.json]   (default reports/mutation/<folder>.json)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FOLDERS } from '../stryker.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [folder, reportPath] = process.argv.slice(2);
if (!(folder in FOLDERS)) {
  console.error(`mutation-replay: unknown folder '${folder}'; one of ${Object.keys(FOLDERS).join(', ')}`);
  process.exit(2);
}
const report = JSON.parse(readFileSync(reportPath ?? join(root, 'reports', 'mutation', `${folder}.json`), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'bhembed-replay-'));
const count = { killed: 0, survived: 0, moved: 0 };
try {
  for (const d of ['src', 'test', 'scripts']) cpSync(join(root, d), join(dir, d), { recursive: true });
  for (const f of ['tsconfig.json', 'package.json']) cpSync(join(root, f), join(dir, f));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const build = () => {
    const b = spawnSync(process.execPath, [join(dir, 'scripts', 'mutation-build.mjs')], { cwd: dir, env: { ...process.env, MUTATION_ROOT: root }, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  };
  // the test files, expanded from the folder's globs (brace lists and one *)
  const tests = FOLDERS[folder].tests.flatMap((g) => {
    const m = /^(.*)\{([^}]*)\}(.*)$/.exec(g);
    return m ? m[2].split(',').map((x) => m[1] + x + m[3]) : [g];
  });
  for (const [file, f] of Object.entries(report.files)) {
    const current = readFileSync(join(root, file), 'utf8');
    const now = current.split('\n');
    const then = f.source.split('\n');
    for (const m of f.mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      const { start, end } = m.location;
      const name = `${file}:${start.line}:${start.column} ${m.mutatorName} ${JSON.stringify(m.replacement)}`;
      // the line in the current file: the same line if unchanged, else the one line with the same text
      let line = start.line;
      if (now[line - 1] !== then[line - 1] || end.line !== start.line) {
        const same = now.map((l, i) => (l === then[start.line - 1] ? i + 1 : -1)).filter((i) => i > 0);
        if (same.length !== 1 || end.line !== start.line) {
          count.moved++;
          console.log(`MOVED    ${name}`);
          continue;
        }
        line = same[0];
      }
      const lines = now.slice();
      const l = lines[line - 1];
      lines[line - 1] = l.slice(0, start.column - 1) + m.replacement + l.slice(end.column - 1);
      writeFileSync(join(dir, file), lines.join('\n'));
      build();
      const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...tests.map((t) => join(dir, t))], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 300_000 });
      const failed = r.status !== 0 || /^\s*not ok /m.test(r.stdout);
      count[failed ? 'killed' : 'survived']++;
      const first = (/^\s*not ok \d+ - (.*)$/m.exec(r.stdout)?.[1] ?? (r.error ? 'timeout' : '')).slice(0, 120);
      console.log(`${failed ? 'KILLED  ' : 'SURVIVED'} ${name}${failed ? `  (${first})` : ''}`);
      writeFileSync(join(dir, file), current);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\n${folder}: of the report's survivors ${count.killed} killed, ${count.survived} survive, ${count.moved} on changed lines (not applied)`);
