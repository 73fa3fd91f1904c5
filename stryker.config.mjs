// StrykerJS config for `npm run test:mutation` (scripts/mutation.mjs runs it once per core folder).
// Stryker mutates the TS sources with mutant switching (every mutant compiled in at once, one chosen per run by
// an env variable), so the sandbox is built once (esbuild, scripts/mutation-build.mjs) and each mutant only costs the node --test runs
// of the compiled test files that covered it in the dry run (coverageAnalysis perTest, one "test" per file).
// MUTATION_FOLDER picks the folder: its source files (or line ranges) and the tests that cover it.
export const FOLDERS = {
  hash: { mutate: ['src/hash/*.ts'], tests: ['dist/test/unit/hash/*.test.js'] },
  // src/embedding/ in three runs: the planner, the baseline indexers, then BH and the configs.
  // The whole planner: planEmbeddings (water-filling, BH shapes, the equal-memory baselines), the hybrid split and QR.
  planner: {
    mutate: ['src/embedding/{planner,hybrid-planner,qr}.ts'],
    tests: ['dist/test/unit/embedding/{planner,hybrid,baselines,indexer-edges}.test.js'],
  },
  // The plan's assembly (shapes to FieldPlans, the equal-memory baselines and their collision counts) and QR.
  // (The plan's assembly alone, quick: the run reported in TESTING.md.)
  'planner-baselines': {
    mutate: ['src/embedding/planner.ts:325-365', 'src/embedding/qr.ts'],
    tests: ['dist/test/unit/embedding/{planner,baselines}.test.js'],
  },
  baselines: { mutate: ['src/embedding/{hashing,double-hash,full,hybrid,registry}.ts'], tests: ['dist/test/unit/embedding/{indexer-edges,baselines,vectors,hybrid}.test.js'] },
  // binary-code.test.js without its loops over 2^20 codes (binary-code-injective.test.js: instrumented, they outlast the
  // dry run, 5 min and more on the shared machine, and every mutant).
  bh: { mutate: ['src/embedding/{binary-code,config}.ts'], tests: ['dist/test/unit/embedding/{config,binary-code,indexer-edges,vectors,baselines,planner,hybrid}.test.js'] },
  metrics: { mutate: ['src/train/metrics.ts'], tests: ['dist/test/unit/train/{metrics,group-auc,sample-weights}.test.js'] },
  optim: { mutate: ['src/nn/optim/*.ts'], tests: ['dist/test/unit/nn/optim*.test.js'] },
  // The readers' hashing: the token helpers and caches, and each reader's categorical path.
  data: {
    mutate: ['src/data/tokens.ts'],
    tests: ['dist/test/unit/data/{tokens,token-fields,formats,criteo,fixtures,corrupt-values,avazu-header,csv-quoting,parquet}.test.js'],
  },
  // The trainer's control flow: fit's epoch/batch loop, evaluation, early stopping, checkpoints and resume (fit to sourceOf).
  trainer: {
    mutate: ['src/train/trainer.ts:318-488'],
    tests: ['dist/test/unit/train/{early-stopping,diverged,resume-state,checkpoint-compat,sample-weights,sparse-sync,trainer-edges}.test.js'],
  },
};

const name = process.env.MUTATION_FOLDER ?? 'hash';
const folder = FOLDERS[name];
if (!folder) throw new Error(`MUTATION_FOLDER=${name} is not one of ${Object.keys(FOLDERS).join(', ')}`);

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: { testFiles: folder.tests, nodeArgs: ['--test-reporter=tap'] },
  buildCommand: 'node scripts/mutation-build.mjs',
  mutate: folder.mutate,
  coverageAnalysis: 'perTest',
  // Mutants of module-level constants run every test file of the folder; MUTATION_STATIC=0 skips them (reported as ignored).
  ignoreStatic: process.env.MUTATION_STATIC === '0',
  ignorePatterns: ['dist', 'bench/results', 'reports', 'bhembed-demo', '.stryker-tmp*'],
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 5000,
  timeoutFactor: 1.5,
  reporters: ['clear-text', 'json', 'progress-append-only'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: `.stryker-tmp-${name}`,
  cleanTempDir: 'always',
  // Not the AssemblyScript sources (decorators Babel cannot parse); tsc must accept the instrumented files.
  disableTypeChecks: '{src/hash,src/embedding,src/nn,src/data,src/train}/**/*.ts',
};
