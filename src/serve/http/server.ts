// The HTTP shell around ModelRepository (fastify, loaded lazily): predict bodies go as bytes to the scoring threads,
// which read, check and score them (a bad body comes back as a 400 naming instance and field), and every other
// error maps to a JSON status in one handler. TF Serving's REST predict and model status,
// the Open Inference Protocol's health checks, Prometheus metrics. No stack trace ever reaches a client.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, isBhembedError } from '../../core/errors.js';
import { createMetrics } from './metrics.js';
import type { ServerMetrics } from './metrics.js';
import { openRepository } from './models.js';
import type { ModelRepository, ModelVersion, RepositoryEvent, RepositoryOptions } from './models.js';

export interface ServerOptions extends Omit<RepositoryOptions, 'onBatch'> {
  modelDir: string;
  /** Largest request body, in bytes (larger: 413). @default 8388608 */
  bodyLimit?: number;
  /** Most instances in one request. @default 4096 */
  maxInstances?: number;
  /** How often the model directory is scanned for new versions, in ms (0: never). @default 2000 */
  pollMs?: number;
}

export interface ModelServer {
  app: FastifyInstance;
  repo: ModelRepository;
  metrics: ServerMetrics;
  /** Listen on host:port (port 0: any free one); returns the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stop accepting, let in-flight requests finish, then close every model. */
  close(): Promise<void>;
}

/** An error answer: `instance` and `field` when the request names them. */
interface ErrorBody {
  error: string;
  instance?: number;
  field?: string;
}

const predictResponse = {
  200: {
    type: 'object',
    properties: { predictions: { type: 'array', items: { type: 'number' } }, model_version: { type: 'string' } },
  },
};

const EMPTY = new Uint8Array(0);

/**
 * fastify and prom-client are optional peer dependencies (only the server needs them, and installing them prints
 * engine warnings on Node 20): a missing one is a one-line error saying how to add it.
 */
async function importServerDependency<T extends 'fastify' | 'prom-client'>(name: T): Promise<T extends 'fastify' ? typeof import('fastify') : typeof import('prom-client')> {
  try {
    return (await import(name)) as T extends 'fastify' ? typeof import('fastify') : typeof import('prom-client');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new ConfigError(`bhembed serve needs the packages fastify and prom-client (optional peer dependencies): npm install fastify@5 prom-client@15`, { key: name });
  }
}

/**
 * A server for every model in `modelDir` (after its first scan; a model dir with no model is a ConfigError).
 * @example
 * const s = await createModelServer({ modelDir: 'models' });
 * await s.listen(8080, '127.0.0.1');
 */
export async function createModelServer(opts: ServerOptions): Promise<ModelServer> {
  const Fastify = (await importServerDependency('fastify')).default;
  const metrics = await createMetrics(await importServerDependency('prom-client'));
  const maxValueLength = opts.maxValueLength ?? 4096;
  const maxInstances = opts.maxInstances ?? 4096;
  const onEvent = (e: RepositoryEvent): void => {
    if (e.type === 'loaded') metrics.version.set({ model: e.model }, Number(e.version));
    if (e.type === 'failed') metrics.loadFailures.inc({ model: e.model });
    opts.onEvent?.(e);
  };
  const repo = await openRepository(opts.modelDir, { ...opts, maxValueLength, maxInstances, onEvent, onBatch: (model, rows) => metrics.batchRows.observe({ model }, rows) });
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 8 << 20,
    // Closing stops new connections; a request that reaches an open connection meanwhile is still answered.
    return503OnClosing: false,
  });

  // Only JSON bodies, and as bytes: the scoring threads read them (src/data/json-rows.ts scans the plain ones
  // without building objects, JSON.parse takes the rest and the shape is checked there), so the event loop only
  // moves bytes. fastify's text/plain parser would hand a string on instead of a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const fail = (reply: FastifyReply, code: number, body: ErrorBody, model: string | null, reason: string): FastifyReply => {
    if (model !== null) {
      metrics.requests.inc({ model, code: String(code) });
      metrics.errors.inc({ model, reason });
    }
    return reply.code(code).type('application/json').send(body);
  };
  const modelLabel = (req: FastifyRequest): string | null => {
    const name = (req.params as { name?: string } | undefined)?.name;
    if (name === undefined || !req.url.endsWith(':predict')) return null;
    return repo.models.has(name) ? name : '_unknown';
  };

  app.setErrorHandler((e: FastifyError, req, reply) => {
    const model = modelLabel(req);
    switch (e.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return fail(reply, 413, { error: `request body larger than ${opts.bodyLimit ?? 8 << 20} bytes; split the request` }, model, 'too_large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return fail(reply, 415, { error: "send the body as 'Content-Type: application/json'" }, model, 'media_type');
      default:
        break;
    }
    if (e instanceof SyntaxError || (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)) {
      return fail(reply, e.statusCode ?? 400, { error: e.message }, model, 'bad_request');
    }
    opts.onEvent?.({ type: 'scan-failed', message: `request ${req.method} ${req.url} failed: ${isBhembedError(e) ? e.message : String(e.message)}` });
    return fail(reply, 500, { error: 'internal error while scoring; the server keeps running' }, model, 'internal');
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}; routes: POST /v1/models/{name}:predict, GET /v1/models/{name}, GET /v2/health/live, GET /v2/health/ready, GET /metrics` });
  });

  app.post(
    '/v1/models/:name(^[^:/]+)::predict',
    { schema: { response: predictResponse } },
    async (req: FastifyRequest<{ Params: { name: string }; Body: Buffer | undefined }>, reply) => {
      const t0 = performance.now();
      const name = req.params.name;
      const m = repo.models.get(name);
      const mv: ModelVersion | null = m?.current?.acquire() ?? null;
      if (mv === null) {
        const why = m === undefined ? `no model '${name}'; models: ${[...repo.models.keys()].join(', ')}` : `model '${name}' has no version loaded yet`;
        return fail(reply, m === undefined ? 404 : 503, { error: why }, m === undefined ? '_unknown' : name, m === undefined ? 'not_found' : 'unavailable');
      }
      metrics.inFlight.inc({ model: name });
      try {
        const r = await mv.batcher.submit(req.body ?? EMPTY);
        if (!('probs' in r)) {
          const body: ErrorBody = { error: r.error };
          if (r.instance !== undefined) body.instance = r.instance;
          if (r.field !== undefined) body.field = r.field;
          return fail(reply, 400, body, name, r.kind);
        }
        metrics.rows.inc({ model: name }, r.probs.length);
        metrics.requests.inc({ model: name, code: '200' });
        metrics.latency.observe({ model: name }, (performance.now() - t0) / 1000);
        return { predictions: Array.from(r.probs), model_version: mv.version };
      } finally {
        metrics.inFlight.dec({ model: name });
        mv.release();
      }
    },
  );

  app.get('/v1/models/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const m = repo.models.get(req.params.name);
    if (m === undefined) return reply.code(404).send({ error: `no model '${req.params.name}'; models: ${[...repo.models.keys()].join(', ')}` });
    return { model_version_status: m.status() };
  });
  app.get('/v1/models', async () => ({ models: [...repo.models.values()].map((m) => ({ name: m.name, version: m.current?.version ?? null })) }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => (repo.ready ? { ready: true } : reply.code(503).send({ ready: false })));
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  if ((opts.pollMs ?? 2000) > 0) repo.watch(opts.pollMs ?? 2000);
  let closing: Promise<void> | null = null;
  return {
    app,
    repo,
    metrics,
    async listen(port: number, host: string): Promise<number> {
      await app.listen({ port, host });
      const addr = app.server.address();
      return typeof addr === 'object' && addr !== null ? addr.port : port;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        // A client that keeps a connection busy cannot hold the process forever: cut connections after 30 s.
        const cut = setTimeout(() => app.server.closeAllConnections(), 30_000);
        cut.unref();
        await app.close();
        clearTimeout(cut);
        await repo.close();
      })();
      return closing;
    },
  };
}
