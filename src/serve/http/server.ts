// The HTTP shell around ModelRepository (fastify, loaded lazily): routes validate with JSON schemas, call one
// scoring path, and map every error to a JSON status in one handler. TF Serving's REST predict and model status,
// the Open Inference Protocol's health checks, Prometheus metrics. No stack trace ever reaches a client.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, isBhembedError } from '../../core/errors.js';
import { RowError } from '../../data/row-encoder.js';
import type { Row } from '../../data/row-encoder.js';
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

// Values are checked by the row encoder (type, length, unknown names), which names instance and field in its 400;
// the schema bounds the shape only, so each value is looked at once.
const predictBody = (maxInstances: number): object => ({
  type: 'object',
  required: ['instances'],
  additionalProperties: false,
  properties: { instances: { type: 'array', minItems: 1, maxItems: maxInstances, items: { type: 'object', maxProperties: 4096 } } },
});

const predictResponse = {
  200: {
    type: 'object',
    properties: { predictions: { type: 'array', items: { type: 'number' } }, model_version: { type: 'string' } },
  },
};

/** A validation error's message with the instance index and field it names ('/instances/3/C1'). */
function validationError(e: FastifyError): ErrorBody {
  const v = (e.validation ?? [])[0] as { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> } | undefined;
  const path = (v?.instancePath ?? '').split('/').slice(1);
  const out: ErrorBody = { error: '' };
  if (path[0] === 'instances' && path.length >= 2) out.instance = Number(path[1]);
  if (path[0] === 'instances' && path.length >= 3) out.field = decodeURIComponent(path[2].replace(/~1/g, '/').replace(/~0/g, '~'));
  let what: string;
  if (path.length === 0) {
    if (v?.keyword === 'required') what = "the body must be a JSON object with an 'instances' list";
    else if (v?.keyword === 'additionalProperties') what = `unknown key '${String(v.params?.additionalProperty)}' in the body; it holds only 'instances'`;
    else what = "the body must be a JSON object {\"instances\": [...]}";
  } else if (path.length === 1) {
    if (v?.keyword === 'minItems') what = "'instances' is empty: send at least one instance";
    else if (v?.keyword === 'maxItems') what = `'instances' holds more than ${String(v.params?.limit)} instances; split the request`;
    else what = "'instances' must be a list of objects";
  } else if (path.length === 2) {
    what = v?.keyword === 'maxProperties' ? 'too many fields' : 'an instance must be a JSON object of field names to values';
  } else if (v?.keyword === 'maxLength') {
    what = `value is longer than ${String(v.params?.limit)} characters`;
  } else if (v?.keyword === 'maxItems') {
    what = `list holds more than ${String(v.params?.limit)} values`;
  } else {
    what = path.length > 3 ? 'a list item must be a string or a number' : 'expected a string, a number, null or (multi-valued fields) a list';
  }
  const where = out.instance === undefined ? '' : `instance ${out.instance}${out.field === undefined ? '' : `, field '${out.field}'`}: `;
  out.error = `${where}${what}`;
  return out;
}

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
  const repo = await openRepository(opts.modelDir, { ...opts, maxValueLength, onEvent, onBatch: (model, rows) => metrics.batchRows.observe({ model }, rows) });
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 8 << 20,
    // Types are checked, never coerced, and nothing is silently removed: a wrong value is a 400.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Closing stops new connections; a request that reaches an open connection meanwhile is still answered.
    return503OnClosing: false,
    // Instances are only read by key (Object.keys, Map lookups), never merged into other objects, so a
    // "__proto__" key is just an unknown field (400): no need for the poisoning scan over every body.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  });

  // Only JSON bodies: fastify's text/plain parser would hand a string to the schema instead of a 415.
  app.removeContentTypeParser('text/plain');

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
    if (e.validation) return fail(reply, 400, validationError(e), model, 'invalid');
    switch (e.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return fail(reply, 400, { error: `malformed JSON body: ${e.message}` }, model, 'malformed_json');
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
    { schema: { body: predictBody(maxInstances), response: predictResponse } },
    async (req: FastifyRequest<{ Params: { name: string }; Body: { instances: Row[] } }>, reply) => {
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
        const instances = req.body.instances;
        let chunk;
        try {
          chunk = mv.encoder.encode(instances);
        } catch (e) {
          if (e instanceof RowError) {
            const body: ErrorBody = { error: e.message, instance: e.instance };
            if (e.field !== null) body.field = e.field;
            return fail(reply, 400, body, name, 'invalid');
          }
          throw e;
        }
        const probs = await mv.batcher.submit(chunk);
        metrics.rows.inc({ model: name }, probs.length);
        metrics.requests.inc({ model: name, code: '200' });
        metrics.latency.observe({ model: name }, (performance.now() - t0) / 1000);
        return { predictions: Array.from(probs), model_version: mv.version };
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
