// Builds the `bhembed` program. Each command lives in commands/<name>.ts and exports register(program);
// adding a command = one import and one entry in COMMANDS below.

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerIndex } from './commands/index.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerPredict } from './commands/predict.js';
import { register as registerInspect } from './commands/inspect.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerSweep } from './commands/sweep.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerExport } from './commands/export.js';
import { register as registerCluster } from './commands/cluster.js';
import { register as registerServe } from './commands/serve.js';

/** Every command, in help order. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerTrain, registerEval, registerPredict, registerServe, registerInspect, registerExport, registerSweep, registerGenerate, registerDemo, registerIndex, registerCluster];

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The program with every command registered. Usage errors throw CommanderError instead of exiting. */
export function buildProgram(): Command {
  const program = new Command('bhembed');
  program
    .description('Binary Code based Hash Embedding (BH) for CTR models: index, train, evaluate, compare and serve compressed embedding tables')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({ outputError: (str, write) => write(`bhembed: ${str.replace(/^error: /, '')}`) });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Parse argv (as process.argv: node, script, args…) and run the chosen command. */
export async function run(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync(argv as string[]);
}
