import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Embedder } from '../embedding/embedder.js';
import type { OutboxWorker } from '../outbox/outbox-worker.js';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  indexErrors: Counter;
}

/**
 * Prometheus metrics (`biovec_<thing>_<unit>`), on a registry of their own so several apps
 * (tests) do not collide. Queue depth and outbox lag are read when scraped.
 */
export function createMetrics(opts: { embedder: Embedder; worker: OutboxWorker }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'biovec_process_' });
  const httpDuration = new Histogram({ name: 'biovec_http_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['method', 'route', 'status'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  const indexErrors = new Counter({ name: 'biovec_index_errors_total', help: 'Outbox rounds that failed against the vector index (rows retried later)', registers: [registry] });
  const batchTokens = new Histogram({ name: 'biovec_embedding_batch_tokens', help: 'Padded tokens per inference batch', buckets: [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384], registers: [registry] });
  const batchSeconds = new Histogram({ name: 'biovec_embedding_batch_duration_seconds', help: 'Inference time per batch', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry] });
  const tokens = new Counter({ name: 'biovec_embedding_tokens_total', help: 'Tokens embedded (rate() gives tokens per second)', registers: [registry] });
  opts.embedder.observe?.((b) => {
    batchTokens.observe(b.paddedTokens);
    batchSeconds.observe(b.seconds);
    tokens.inc(b.tokens);
  });
  new Gauge({
    name: 'biovec_embedding_queue_items', help: 'Texts waiting for inference, by priority', labelNames: ['priority'] as const, registers: [registry],
    collect() {
      const stats = opts.embedder.stats?.();
      this.set({ priority: 'interactive' }, stats?.queuedItems.interactive ?? 0);
      this.set({ priority: 'bulk' }, stats?.queuedItems.bulk ?? 0);
    },
  });
  new Gauge({ name: 'biovec_outbox_lag_seconds', help: 'Age of the oldest change not yet applied to the vector index', registers: [registry], async collect() { this.set(await opts.worker.lagSeconds()); } });
  new Gauge({ name: 'biovec_outbox_backlog', help: 'Changes waiting for the vector index', registers: [registry], async collect() { this.set(await opts.worker.backlog()); } });
  return { registry, httpDuration, indexErrors };
}
