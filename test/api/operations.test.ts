import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/api-keys.js';
import { getCollection } from '../../src/catalog/collections.js';
import { findDocument } from '../../src/catalog/documents.js';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { ConflictError } from '../../src/lib/errors.js';
import { startServer } from '../../src/main.js';
import { openStores } from '../../src/stores.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { flakyIndex } from '../helpers/flaky-index.js';

describe('API keys: scopes on every route, revocation, rate limits', () => {
  let h: Harness;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32) });
    for (const scope of ['read', 'write', 'admin'] as const) tokens[scope] = (await createApiKey(h.deps.db, { name: scope, scope })).token;
    tokens.limited = (await createApiKey(h.deps.db, { name: 'limited', scope: 'read', rateLimitPerMinute: 3 })).token;
    tokens.revoked = (await createApiKey(h.deps.db, { name: 'gone', scope: 'admin' })).token;
    await revokeApiKey(h.deps.db, tokens.revoked.slice(3, 11));
  });
  afterAll(async () => h.close());

  const as = (who: string | undefined): Record<string, string> => (who ? { authorization: `Bearer ${tokens[who]}` } : {});

  it('refuses every route without a key (401 problem+json), except the liveness/readiness probes', async () => {
    const spec = (await h.call('GET', '/openapi.json', undefined, as('read'))).body as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path.replace('{name}', 'default').replace('{id}', 'x')] as const));
    expect(routes.length).toBeGreaterThan(12);
    for (const [method, path] of [...routes, ['GET', '/metrics'] as const]) {
      const res = await h.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
      if (path === '/health' || path === '/ready' || (method === 'GET' && path === '/')) expect(res.status, `${method} ${path}`).not.toBe(401);
      else {
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.type).toBe('/problems/unauthorized');
      }
    }
    // The docs, their assets and the spec hold no data, and Swagger UI needs the spec before it can authorize.
    for (const path of ['/docs', '/docs/assets/swagger-ui-bundle.js', '/openapi.json']) expect((await h.call('GET', path)).status, path).toBe(200);
    expect((await h.call('GET', '/')).status).toBe(200);
    expect((await h.call('GET', '/v1/collections', undefined, { authorization: 'Bearer bv_00000000_not-a-real-key-at-all-000000000000000000' })).status).toBe(401);
    expect((await h.call('GET', '/v1/collections', undefined, as('revoked'))).status).toBe(401);
  });

  it('enforces scopes: read < write < admin', async () => {
    expect((await h.call('GET', '/v1/collections', undefined, as('read'))).status).toBe(200);
    expect((await h.call('POST', '/v1/collections/default/search', { query: 'x' }, as('read'))).status).toBe(200);
    expect((await h.call('POST', '/v1/embeddings', { input: 'x' }, as('read'))).status).toBe(200);
    const denied = await h.call('POST', '/v1/collections/default/documents', [{ id: 'a', text: 'b' }], as('read'));
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toMatch(/needs the write scope/);
    expect((await h.call('POST', '/v1/collections/default/documents', [{ id: 'a', text: 'b' }], as('write'))).status).toBe(200);
    expect((await h.call('POST', '/v1/collections', { name: 'temp' }, as('write'))).status).toBe(201);
    expect((await h.call('DELETE', '/v1/collections/temp', undefined, as('write'))).status).toBe(403);
    expect((await h.call('DELETE', '/v1/collections/temp', undefined, as('admin'))).status).toBe(204);
  });

  it('limits requests per key with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await h.call('GET', '/info', undefined, as('limited'));
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await h.call('GET', '/info', undefined, as('read'))).status).toBe(200); // other keys unaffected
  });

  it('serves Prometheus metrics to a read key', async () => {
    await h.call('POST', '/v1/collections/default/search', { query: 'x' }, as('read'));
    const res = await h.app.request('/metrics', { headers: as('read') });
    const text = await res.text();
    expect(res.headers.get('content-type')).toContain('text/plain');
    for (const name of ['biovec_http_request_duration_seconds_bucket', 'route="/v1/collections/:name/search"', 'biovec_outbox_lag_seconds', 'biovec_outbox_backlog', 'biovec_embedding_queue_items{priority="interactive"}', 'biovec_index_errors_total']) expect(text).toContain(name);
  });
});

describe('readiness', () => {
  it('turns false, naming the index, when the vector index is unreachable, and true again after', async () => {
    let index!: ReturnType<typeof flakyIndex>;
    const h = await createHarness({ embedder: new HashEmbedder(), wrapIndex: (inner) => (index = flakyIndex(inner)) });
    try {
      expect((await h.call('GET', '/ready')).status).toBe(200);
      index.down = true;
      const res = await h.call('GET', '/ready');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'not-ready', checks: { index: { ok: false }, catalog: { ok: true }, model: { ok: true } } });
      index.down = false;
      expect((await h.call('GET', '/ready')).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('the server process', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(join(tmpdir(), 'biovec-server-')); });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('prints its configuration at start with secrets redacted', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
    const server = await startServer(loadConfig({ HF_TOKEN: 'hf_supersecret', BIOVEC_DATA_DIR: join(dataDir, 'a'), BIOVEC_PORT: '0' }), { embedder: new HashEmbedder(), logger });
    await server.close();
    const start = JSON.parse(lines[0]!) as { config: Record<string, unknown> };
    expect(start.config.hfToken).toBe('[redacted]');
    expect(lines.join('')).not.toContain('hf_supersecret');
  });

  it('refuses to serve beyond loopback without API keys', async () => {
    const err = await startServer(loadConfig({ BIOVEC_DATA_DIR: join(dataDir, 'b'), BIOVEC_HOST: '0.0.0.0', BIOVEC_PORT: '0' }), { embedder: new HashEmbedder(), logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).detail).toMatch(/biovec keys create/);
  });

  it('shuts down gracefully with writes in flight: every acknowledged write is kept', async () => {
    const dir = join(dataDir, 'c');
    const server = await startServer(loadConfig({ BIOVEC_DATA_DIR: dir, BIOVEC_PORT: '0' }), { embedder: new HashEmbedder(), logger: pino({ level: 'silent' }) });
    const post = (i: number) => fetch(`${server.url}/v1/collections/default/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ id: `doc-${i}`, text: `in flight ${i}` }]) })
      .then((r) => (r.ok ? `doc-${i}` : undefined), () => undefined);
    const inFlight = Array.from({ length: 40 }, (_, i) => post(i));
    // Close once the server has answered one write, so the rest are really in flight; a fixed
    // sleep could close before any request arrived on a loaded machine.
    await Promise.any(inFlight.map((p) => p.then((id) => id ?? Promise.reject(new Error('not acknowledged')))));
    const started = Date.now();
    await server.close();
    // The documented bound (BIOVEC_SHUTDOWN_TIMEOUT_MS, 20 s), with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(25_000);
    const acknowledged = (await Promise.all(inFlight)).filter((x): x is string => x !== undefined);
    expect(acknowledged.length).toBeGreaterThan(0);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    const stores = await openStores(loadConfig({ BIOVEC_DATA_DIR: dir }));
    try {
      const collection = await getCollection(stores.database.db, 'default');
      for (const id of acknowledged) expect(await findDocument(stores.database.db, collection, id), id).toBeDefined();
      // What the index had not seen yet waits in the persisted outbox: catalog + outbox cover every write.
      const points = await stores.index.count(collection.indexName).catch(() => 0);
      const { OutboxWorker } = await import('../../src/outbox/outbox-worker.js');
      const pending = await new OutboxWorker({ db: stores.database.db, index: stores.index }).drain(10_000);
      expect(pending).toBe(0);
      expect(await stores.index.count(collection.indexName)).toBeGreaterThanOrEqual(Math.max(points, acknowledged.length));
    } finally {
      await stores.close();
    }
  });
});
