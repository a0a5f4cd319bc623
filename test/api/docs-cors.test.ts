// Issue 12: /docs works offline (Swagger UI served from the package), its spec declares the
// bearer scheme, GET / leads to /docs, and CORS is off unless --cors-allow-origin is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';

describe('the docs page, offline, with keys required', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), auth: { isOpenWithoutKeys: false } });
    token = (await createApiKey(h.deps.db, { name: 'docs', scope: 'read' })).token;
  });
  afterAll(async () => h.close());

  it('serves Swagger UI from the package, not a CDN, and only the files it lists', async () => {
    const page = await h.app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) {
      expect(url, 'a local asset').toMatch(/^\/docs\/assets\/[\w.-]+\?v=[\w.]+$/);
      const res = await h.app.request(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect((await res.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
    expect(urls.some((u) => u.includes('swagger-ui-bundle.js?v=5.35.0'))).toBe(true);
    expect((await h.call('GET', '/docs/assets/package.json')).status).toBe(404);
    expect((await h.call('GET', '/docs/assets/..%2Fpackage.json')).status).toBe(404);
  });

  it('declares the bearer scheme on every operation but the probes and GET /, and leaves the docs routes out of the spec', async () => {
    const spec = (await h.call('GET', '/openapi.json')).body;
    expect(spec.components.securitySchemes.biovecKey).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'biovec key' });
    for (const [path, methods] of Object.entries(spec.paths as Record<string, Record<string, { security?: unknown }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        if (path === '/health' || path === '/ready' || (method === 'get' && path === '/')) expect(op.security, `${method} ${path}`).toBeUndefined();
        else expect(op.security, `${method} ${path}`).toEqual([{ biovecKey: [] }]);
      }
    }
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/docs') || p === '/openapi.json')).toEqual([]);
    expect(spec.paths['/'].get.responses).toHaveProperty('200');
  });

  it('serves the web app at GET / without a key (issue 13), and still needs one for the API', async () => {
    const root = await h.app.request('/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await h.call('GET', '/v1/collections')).status).toBe(401);
    expect((await h.call('GET', '/v1/collections', undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('sends no CORS headers by default', async () => {
    const res = await h.app.request('/v1/collections', { headers: { origin: 'https://app.example.org', authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await h.app.request('/v1/collections', { method: 'OPTIONS', headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS with --cors-allow-origin', () => {
  let h: Harness;
  let token: string;
  const allowed = 'https://app.example.org';
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), auth: { isOpenWithoutKeys: false } });
    h.deps.corsAllowOrigin = loadConfig({ BIOVEC_CORS_ALLOW_ORIGIN: `${allowed}, https://other.example.org` }).corsAllowOrigin;
    // The app reads its deps when built: rebuild it with CORS on.
    h.app = createApp(h.deps);
    token = (await createApiKey(h.deps.db, { name: 'cors', scope: 'read' })).token;
  });
  afterAll(async () => h.close());

  it('answers a preflight without a key, and allows only the listed origins', async () => {
    const preflight = await h.app.request('/v1/collections/default/search', {
      method: 'OPTIONS',
      headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await h.app.request('/v1/collections', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('adds the origin to answers, errors included, and still needs a key', async () => {
    const ok = await h.app.request('/v1/collections', { headers: { origin: allowed, authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const refused = await h.app.request('/v1/collections', { headers: { origin: allowed } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(allowed);
    const elsewhere = await h.app.request('/v1/collections', { headers: { origin: 'https://evil.example.com', authorization: `Bearer ${token}` } });
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('takes * or origins, and refuses anything else naming the setting', () => {
    expect(loadConfig({}).corsAllowOrigin).toBe('');
    expect(loadConfig({ BIOVEC_CORS_ALLOW_ORIGIN: '*' }).corsAllowOrigin).toBe('*');
    expect(() => loadConfig({ BIOVEC_CORS_ALLOW_ORIGIN: 'app.example.org/path' })).toThrow(/BIOVEC_CORS_ALLOW_ORIGIN \/ --cors-allow-origin/);
  });
});
