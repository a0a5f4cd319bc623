import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';

describe('OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness({ embedder: new HashEmbedder() }); });
  afterAll(async () => h.close());

  // Generated from the route schemas; a change to the API shows up here as a diff to review
  // (update with `npx vitest run test/api/openapi.test.ts -u`).
  it('matches the committed snapshot', async () => {
    const spec = (await h.call('GET', '/openapi.json')).body;
    await expect(`${JSON.stringify(spec, null, 2)}\n`).toMatchFileSnapshot('../fixtures/openapi.json');
  });

  it('documents the problem+json answers of every /v1 route', async () => {
    const spec = (await h.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };
    for (const [path, methods] of Object.entries(spec.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
        expect(errors.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [, response] of errors) expect(Object.keys(response.content ?? {})).toContain('application/problem+json');
      }
    }
  });

  // Issue 10: auth, rate-limit, media-type and dependency answers were missing from the spec,
  // so clients (and schemathesis) met undocumented statuses.
  it('documents auth, rate limit, unavailable dependency and media-type answers, and every export content type', async () => {
    const spec = (await h.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> }>> };
    const PUBLIC = new Set(['GET /health', 'GET /ready', 'GET /']);
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const statuses = Object.keys(op.responses);
        if (!PUBLIC.has(`${method.toUpperCase()} ${path}`)) expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
        if (op.requestBody?.content['application/json']) expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['400', '413', '415', '422']));
      }
    }
    const exportTypes = Object.keys(spec.paths['/v1/collections/{name}/export']!.get!.responses['200']!.content!);
    expect(exportTypes.sort()).toEqual(['application/octet-stream', 'application/vnd.apache.parquet', 'application/x-ndjson', 'text/csv']);
  });
});
