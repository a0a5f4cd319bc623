// Issue 13's server side: the app's page and assets with their caching headers, the tokenizer
// for the browser (counts equal POST /tokenize), the cached PCA map, and the outbox status. On
// a real ONNX session (the tiny RoBERTa fixture, which has only vocab.json + merges.txt).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../../test/helpers/database.js';
import { fixtureModel } from '../../test/helpers/fixtures.js';
import { loadConfig } from '../config.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import type { Embedder } from '../embedding/embedder.js';
import { loadEmbedder } from '../embedding/load-embedder.js';
import type { AppEnv } from '../http/app-env.js';
import { registerWebAppRoutes } from './web-routes.js';

let embedder: Embedder;
beforeAll(async () => {
  embedder = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), threads: 1, hfHubOffline: true, cacheDir: join(tmpdir(), 'biovec-webapp-cache') }));
});
afterAll(async () => embedder?.close());

describe('the page and its assets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-web-dist-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>');
    await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const appOver = (distDir: string) => {
    const app = new OpenAPIHono<AppEnv>();
    registerWebAppRoutes(app, { distDir });
    return app;
  };

  it('serves index.html revalidated, under a CSP that allows only this origin, and hashed assets immutable', async () => {
    const app = appOver(dir);
    const page = await app.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await page.text()).toContain('/assets/index-AbC123.js');
    const js = await app.request('/assets/index-AbC123.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('answers 404 for anything else under /assets, traversal included', async () => {
    const app = appOver(dir);
    for (const path of ['/assets/missing.js', '/assets/..%2Findex.html', '/assets/index.html', '/assets/.hidden.js']) expect((await app.request(path)).status, path).toBe(404);
  });

  it('says how to build the app when it was never built, with a link to the docs', async () => {
    const res = await appOver(join(dir, 'nowhere')).request('/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('npm run build:web');
    expect(html).toContain('href="/docs"');
  });
});

describe('GET /v1/tokenizer', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness({ embedder }); });
  afterAll(async () => h?.close());

  it('gives a tokenizer.json built from vocab.json + merges.txt that counts in the browser library as POST /tokenize does', async () => {
    const res = await h.call('GET', '/v1/tokenizer');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ max_tokens: 128, query_prefix: '', tokenizer: { model: { type: 'BPE' }, padding: null, truncation: null }, tokenizer_config: { max_len: 128 } });
    const js = new Tokenizer(res.body.tokenizer, res.body.tokenizer_config);
    const texts = ['aspirin and platelet aggregation', 'β-amyloid (Aβ42) → tau; 🧬 乳腺癌', 'naïve CD4⁺ T‑cells,  x²', 'Aspirin irreversibly inhibits COX-1. '.repeat(30)];
    const server = (await h.call('POST', '/tokenize', { inputs: texts })).body as { id: number }[][];
    texts.forEach((t, i) => expect(js.encode(t).ids, t.slice(0, 30)).toEqual(server[i]!.map((tok) => tok.id)));
  });

  it('is 404 for an engine without a vocabulary (the hash double)', async () => {
    const hashed = await createHarness({ embedder: new HashEmbedder(8) });
    try {
      const res = await hashed.call('GET', '/v1/tokenizer');
      expect(res.status).toBe(404);
      expect(res.body.type).toBe('/problems/not-found');
    } finally {
      await hashed.close();
    }
  });
});

describe.each(DATABASE_BACKENDS)('GET /v1/collections/{name}/map and /v1/outbox (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness({ embedder, backend }); });
  afterAll(async () => h?.close());

  const docs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({
    id: `d${from + i}`, title: (from + i) % 2 ? 'Pharmacology' : 'Oncology', text: (from + i) % 2 ? 'Aspirin irreversibly inhibits platelet cyclooxygenase.' : 'BRCA1 germline mutations raise breast cancer risk.',
    labels: [(from + i) % 2 ? 'pharma' : 'oncology'], metadata: { journal: (from + i) % 3 ? 'Cell' : 'BMJ' },
  }));

  it('places every document, coloured by label or a metadata field, and caches until the collection changes', async () => {
    expect((await h.call('POST', '/v1/collections/default/documents', docs(0, 30))).status).toBe(200);
    await h.drain();
    const first = await h.call('GET', '/v1/collections/default/map');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ method: 'pca', color_by: 'labels', documents: 30, sampled: 30, cached: false, groups: [{ name: 'oncology', count: 15 }, { name: 'pharma', count: 15 }] });
    expect(first.body.points).toHaveLength(30);
    expect(first.body.points[0]).toMatchObject({ id: expect.any(String), x: expect.any(Number), y: expect.any(Number), title: expect.stringMatching(/^(Pharmacology|Oncology)$/), group: expect.any(String) });
    // Two texts only: the two label groups fall on two spots, apart along x.
    const xs = (label: string) => new Set(first.body.points.filter((p: { group: string }) => p.group === label).map((p: { x: number }) => p.x.toFixed(3)));
    expect(xs('oncology').size).toBe(1);
    expect([...xs('oncology')]).not.toEqual([...xs('pharma')]);

    expect((await h.call('GET', '/v1/collections/default/map')).body).toEqual({ ...first.body, cached: true });
    const byJournal = await h.call('GET', '/v1/collections/default/map?color_by=journal&sample=7');
    expect(byJournal.body).toMatchObject({ documents: 30, sampled: 7, cached: false });
    expect(byJournal.body.groups.map((g: { name: string }) => g.name).sort()).toEqual(expect.arrayContaining(['Cell']));

    expect((await h.call('POST', '/v1/collections/default/documents', docs(30, 1))).status).toBe(200);
    await h.drain();
    expect((await h.call('GET', '/v1/collections/default/map')).body).toMatchObject({ documents: 31, cached: false });
  });

  it('refuses a bad sample size or colour field (422 naming it) and an unknown collection (404)', async () => {
    for (const [query, pointer] of [['sample=0', '/sample'], ['sample=5001', '/sample'], ['color_by=a%20b', '/color_by']] as const) {
      const res = await h.call('GET', `/v1/collections/default/map?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
    expect((await h.call('GET', '/v1/collections/nope/map')).status).toBe(404);
  });

  it('reports the outbox backlog and lag', async () => {
    await h.drain();
    expect((await h.call('GET', '/v1/outbox')).body).toEqual({ backlog: 0, lag_s: 0 });
  });
});
