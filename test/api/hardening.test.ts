// Issue 10: auth that fails closed, scopes by route, body limits, bounded key cache, no
// document text in logs, 503 for an exhausted database pool.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { ActiveKeys } from '../../src/auth/active-keys.js';
import { createApiKey, revokeApiKey, scopeAllows, type Scope } from '../../src/auth/api-keys.js';
import { isLoopbackHost } from '../../src/auth/loopback.js';
import { ROUTE_SCOPES } from '../../src/auth/route-scopes.js';
import { openDatabase } from '../../src/db/client.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { createLogger } from '../../src/lib/logger.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS, openTestDatabase } from '../helpers/database.js';

type Spec = { paths: Record<string, Record<string, unknown>> };
const randomToken = () => `bv_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('auth off the loopback fails closed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), auth: { isOpenWithoutKeys: false } });
  });
  afterAll(async () => h.close());

  it('refuses every operation but the probes while no key exists, and after the last key is revoked', async () => {
    const { token } = await createApiKey(h.deps.db, { name: 'only', scope: 'admin' });
    const spec = (await h.call('GET', '/openapi.json', undefined, bearer(token))).body as Spec;
    await revokeApiKey(h.deps.db, token.slice(3, 11));
    // A fresh app sees the revocation at once (a running one within 30 s); either way no key is active.
    const app = createApp(h.deps);
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path.replace('{name}', 'default').replace('{id}', 'x')] as const));
    expect(operations.length).toBeGreaterThan(12);
    for (const [method, path] of [...operations, ['GET', '/metrics'] as const, ['GET', '/no-such-route'] as const]) {
      for (const respond of [h.app, app]) {
        const res = await respond.request(path, { method, ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }) });
        if (path === '/health' || path === '/ready' || (method === 'GET' && path === '/')) expect(res.status, `${method} ${path}`).not.toBe(401);
        else expect(res.status, `${method} ${path}`).toBe(401);
      }
    }
    expect((await app.request('/v1/collections', { headers: bearer(token) })).status).toBe(401);
    expect((await h.call('GET', '/v1/collections/default')).status).toBe(401);
  });

  it('tells loopback binds from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.org', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('scopes by method and route template, for every operation in the spec', () => {
  let h: Harness;
  const tokens = {} as Record<Scope, string>;
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), limits: { maxBodyBytes: 1024 } });
    for (const scope of ['read', 'write', 'admin'] as const) tokens[scope] = (await createApiKey(h.deps.db, { name: scope, scope, rateLimitPerMinute: 100_000 })).token;
    expect((await h.call('POST', '/v1/collections/default/documents', [{ id: 'search', text: 'a document named search' }, { id: 'imports', text: 'a document named imports' }], bearer(tokens.write))).status).toBe(200);
  });
  afterAll(async () => h.close());

  it('has an explicit scope for every operation, and read/write/admin keys get 403 or pass accordingly', async () => {
    const spec = (await h.call('GET', '/openapi.json', undefined, bearer(tokens.read))).body as Spec;
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const missing = operations.filter((op) => ROUTE_SCOPES[op] === undefined);
    expect(missing, 'operations without a row in ROUTE_SCOPES').toEqual([]);
    for (const op of [...operations, 'GET /metrics', 'GET /docs', 'GET /openapi.json']) {
      const needed = ROUTE_SCOPES[op]!;
      const [method, template] = op.split(' ') as [string, string];
      // Names and ids that do not exist: nothing real is changed, only the auth decision is seen.
      const path = template.replace('{name}', 'no-such-collection').replace('{id}', 'search');
      for (const held of ['read', 'write', 'admin'] as const) {
        const res = await h.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, bearer(tokens[held]));
        if (needed === 'public' || scopeAllows(held, needed)) expect(res.status, `${held} key: ${op}`).not.toBe(403);
        else expect(res.status, `${held} key: ${op}`).toBe(403);
        expect(res.status, `${held} key: ${op}`).not.toBe(401);
      }
    }
  });

  it('keeps a read key from changing or deleting a document whose id is `search`', async () => {
    const patched = await h.call('PATCH', '/v1/collections/default/documents/search', { title: 'changed' }, bearer(tokens.read));
    expect(patched.status).toBe(403);
    expect(patched.body.detail).toMatch(/needs the write scope/);
    expect((await h.call('DELETE', '/v1/collections/default/documents/search', undefined, bearer(tokens.read))).status).toBe(403);
    expect((await h.call('GET', '/v1/collections/default/documents/search', undefined, bearer(tokens.read))).status).toBe(200);
    expect((await h.call('PATCH', '/v1/collections/default/documents/search', { title: 'changed' }, bearer(tokens.write))).status).toBe(200);
  });

  it('applies the body limit (413) everywhere but the import route, whose upload streams', async () => {
    const big = JSON.stringify({ title: 'x'.repeat(4096) });
    for (const [method, path] of [['PATCH', '/v1/collections/default/documents/imports'], ['POST', '/v1/collections/default/search'], ['POST', '/v1/collections/default/documents']] as const) {
      const res = await h.call(method, path, big, bearer(tokens.write));
      expect(res.status, `${method} ${path}`).toBe(413);
      expect(res.body.type).toBe('/problems/payload-too-large');
    }
    expect((await h.call('GET', '/v1/collections/default/documents/imports', undefined, bearer(tokens.read))).body.title).not.toBe('x'.repeat(4096));
    const ndjson = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `big-${i}`, text: `abstract ${i} ${'y'.repeat(40)}` })).join('\n');
    expect(ndjson.length).toBeGreaterThan(1024);
    const upload = await h.app.request('/v1/collections/default/imports?format=ndjson', { method: 'POST', body: ndjson, headers: bearer(tokens.write) });
    expect(upload.status).toBe(202);
  });
});

describe.each(DATABASE_BACKENDS)('the active-key cache (%s)', (backend) => {
  it('stays bounded by the active keys and costs no lookup per bad token', async () => {
    const db = await openTestDatabase(backend);
    try {
      const { token } = await createApiKey(db.handle.db, { name: 'k', scope: 'read' });
      let now = 1_000_000;
      const keys = new ActiveKeys(db.handle.db, { now: () => now });
      expect((await keys.verify(token))?.name).toBe('k');
      for (let i = 0; i < 5000; i++) expect(await keys.verify(i % 2 ? randomToken() : `bv_${token.slice(3, 11)}_${randomBytes(32).toString('base64url')}`)).toBeUndefined();
      expect(await keys.verify('not even shaped like a token')).toBeUndefined();
      // One load for all of that: no database lookup and no memory per bad token.
      expect(keys.stats()).toEqual({ keys: 1, reloads: 1 });
      // A key created since the last load works after the short reload interval, not 30 s.
      const fresh = await createApiKey(db.handle.db, { name: 'fresh', scope: 'write' });
      now += 1_000;
      expect((await keys.verify(fresh.token))?.name).toBe('fresh');
      // A revoked key stops working once the loaded set is older than its bound.
      await revokeApiKey(db.handle.db, token.slice(3, 11));
      now += 30_001;
      expect(await keys.verify(token)).toBeUndefined();
      expect(keys.stats()).toEqual({ keys: 1, reloads: 3 });
    } finally {
      await db.cleanup();
    }
  });
});

describe.each(DATABASE_BACKENDS)('logs (%s)', (backend) => {
  it('keep document text out of a failed query\'s error', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }) });
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend, logger });
    try {
      // The catalog refuses this text, as it would a value it cannot store.
      await h.deps.db.execute(sql`ALTER TABLE documents ADD CONSTRAINT refuse_marker CHECK (body NOT LIKE '%QZX%')`);
      const secret = 'QZX confidential abstract about aspirin and platelets';
      const res = await h.call('POST', '/v1/collections/default/documents', [{ id: 'pmid:1', title: 'QZX title', text: secret }]);
      expect(res.status).toBe(500);
      const failure = lines.find((l) => l.includes('request failed'));
      expect(failure).toBeDefined();
      expect(failure).toContain('refuse_marker'); // what failed is still there
      expect(lines.join('\n')).not.toContain('QZX');
    } finally {
      await h.close();
    }
  });
});

describe.runIf(DATABASE_BACKENDS.includes('postgres'))('an exhausted database pool', () => {
  it('is a 503 (upstream unavailable), not a 500', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32) });
    const testDb = await openTestDatabase('postgres');
    const small = await openDatabase({ databaseUrl: testDb.url, poolSize: 1, connectionTimeoutMs: 200 });
    let release: (() => void) | undefined;
    let holding!: () => void;
    const isHeld = new Promise<void>((r) => { holding = r; });
    const held = small.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await new Promise<void>((r) => { release = r; holding(); });
    });
    try {
      await isHeld;
      const app = createApp({ ...h.deps, db: small.db });
      const res = await app.request('/v1/collections/default');
      expect(res.status).toBe(503);
      expect(((await res.json()) as { type: string }).type).toBe('/problems/upstream-unavailable');
    } finally {
      release?.();
      await held;
      await small.close();
      await testDb.cleanup();
      await h.close();
    }
  });
});
