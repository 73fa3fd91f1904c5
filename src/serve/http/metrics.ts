// The server's Prometheus metrics (prom-client, its own registry, handed in by the server, which loads it lazily): requests by model
// and status code, errors by reason, rows scored, request latency, engine batch sizes, served version, and the
// process's memory and CPU (prom-client's default metrics).

import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'model' | 'code'>;
  errors: Counter<'model' | 'reason'>;
  rows: Counter<'model'>;
  latency: Histogram<'model'>;
  batchRows: Histogram<'model'>;
  version: Gauge<'model'>;
  inFlight: Gauge<'model'>;
  loadFailures: Counter<'model'>;
}

export async function createMetrics(prom: typeof import('prom-client')): Promise<ServerMetrics> {
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry, prefix: 'bhembed_' });
  // Gauges named *_total break Prometheus' naming rules (promtool check metrics fails on them).
  for (const n of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`bhembed_nodejs_${n}`);
  const registers = [registry];
  return {
    registry,
    requests: new prom.Counter({ name: 'bhembed_requests_total', help: 'Predict requests answered, by model and HTTP status code.', labelNames: ['model', 'code'], registers }),
    errors: new prom.Counter({ name: 'bhembed_request_errors_total', help: 'Predict requests answered with an error, by model and reason.', labelNames: ['model', 'reason'], registers }),
    rows: new prom.Counter({ name: 'bhembed_rows_total', help: 'Rows (instances) scored.', labelNames: ['model'], registers }),
    latency: new prom.Histogram({
      name: 'bhembed_request_duration_seconds',
      help: 'Predict request latency from routing to reply, in seconds.',
      labelNames: ['model'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    batchRows: new prom.Histogram({
      name: 'bhembed_batch_rows',
      help: 'Rows per engine batch (requests micro-batched together).',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    }),
    version: new prom.Gauge({ name: 'bhembed_model_version', help: 'Version number of the model version being served.', labelNames: ['model'], registers }),
    inFlight: new prom.Gauge({ name: 'bhembed_requests_in_flight', help: 'Predict requests being encoded or scored.', labelNames: ['model'], registers }),
    loadFailures: new prom.Counter({ name: 'bhembed_model_load_failures_total', help: 'Model versions that failed to load.', labelNames: ['model'], registers }),
  };
}
