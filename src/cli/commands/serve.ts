// `bhembed serve`: an HTTP server for the models of a directory (src/serve/http/, loaded only by this command).
// Prints one line per load, swap and failure on stderr; SIGTERM or SIGINT drains in-flight requests and exits 0.

import type { Command } from 'commander';
import { Option } from 'commander';
import { IoError } from '../../core/errors.js';
import type { InferPrecision } from '../../kernels/index.js';
import { parseIntOpt } from '../options.js';
import { precisionOption, workersOption } from './predict.js';

interface ServeFlags {
  modelDir: string;
  port: number;
  host: string;
  precision: string;
  workers: number;
  maxBody: number;
  inferThreads?: number;
  maxInstances: number;
  maxValueLength: number;
  maxWaitMs: number;
  pollMs: number;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the models of a directory over HTTP (TF Serving REST predict, health checks, Prometheus metrics)')
    .requiredOption('--model-dir <dir>', 'NAME.bhm files, or NAME/ directories of numbered versions 1.bhm, 2.bhm, … (the newest is served and new ones are swapped in)')
    .addOption(new Option('--port <n>', 'TCP port (0: any free one)').argParser((v: string) => parseIntOpt('--port', v, 0, 65535)).default(8080))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addOption(precisionOption())
    .addOption(workersOption())
    .addOption(new Option('--infer-threads <n>', 'onnxruntime threads per scoring thread (default: cores / workers)').argParser((v: string) => parseIntOpt('--infer-threads', v, 1, 64)))
    .addOption(new Option('--max-body <bytes>', 'largest request body (larger: 413)').argParser((v: string) => parseIntOpt('--max-body', v, 1024)).default(8 << 20))
    .addOption(new Option('--max-instances <n>', 'most instances per request').argParser((v: string) => parseIntOpt('--max-instances', v, 1)).default(4096))
    .addOption(new Option('--max-value-length <n>', 'longest value, in characters').argParser((v: string) => parseIntOpt('--max-value-length', v, 1)).default(4096))
    .addOption(new Option('--max-wait-ms <ms>', 'longest wait for other requests to join a batch (0: only while the scoring threads are busy)').argParser((v: string) => parseIntOpt('--max-wait-ms', v, 0, 1000)).default(0))
    .addOption(new Option('--poll-ms <ms>', 'how often the model directory is checked for new versions (0: never)').argParser((v: string) => parseIntOpt('--poll-ms', v, 0)).default(2000))
    .option('-q, --quiet', 'no log lines on stderr (load failures are still printed)')
    .addHelpText(
      'after',
      `\nExample:\n  bhembed serve --model-dir models --port 8080\n  curl -s localhost:8080/v1/models/ctr:predict -d '{"instances":[{"C1":"68fd1e64","I1":3}]}'`,
    )
    .action(async (flags: ServeFlags) => runServe(flags));
}

async function runServe(flags: ServeFlags): Promise<void> {
  const { createModelServer } = await import('../../serve/http/server.js');
  const log = (line: string, always = false): void => {
    if (always || !flags.quiet) process.stderr.write(`bhembed serve: ${line}\n`);
  };
  const server = await createModelServer({
    modelDir: flags.modelDir,
    precision: flags.precision as InferPrecision,
    workers: flags.workers,
    inferThreads: flags.inferThreads,
    bodyLimit: flags.maxBody,
    maxInstances: flags.maxInstances,
    maxValueLength: flags.maxValueLength,
    pollMs: flags.pollMs,
    batcher: { maxWaitMs: flags.maxWaitMs },
    onEvent: (e) => {
      if (e.type === 'loaded') log(`model ${e.model} version ${e.version} ready (${e.path}, ${Math.round(e.ms)} ms)`);
      else if (e.type === 'swapped') log(`model ${e.model}: version ${e.from} -> ${e.to}`);
      else if (e.type === 'failed') log(`model ${e.model} version ${e.version} failed to load, still serving the previous version: ${e.message}`, true);
      else log(e.message, true);
    },
  });
  let port: number;
  try {
    port = await server.listen(flags.port, flags.host);
  } catch (e) {
    await server.close();
    throw new IoError(`cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`, { key: 'port' });
  }
  const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  log(`listening on http://${host}:${port} (POST /v1/models/{name}:predict)`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log(`${sig}: draining in-flight requests`);
      void server.close().then(resolve, (e: unknown) => {
        log(`error while closing: ${(e as Error).message}`, true);
        process.exitCode = 1;
        resolve();
      });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    // serve writes no files: it replaces bin.ts's exit-at-once handlers (cli/interrupt.ts) with a drain.
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  log('stopped');
}
