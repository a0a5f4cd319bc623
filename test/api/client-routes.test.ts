// The drop-in routes for the clients people already use (issue 12): OpenAI's error shape,
// /v1/models and model names, token-id and over-long input; TEI's POST / with strict keys and
// truncation_direction; ersilia-pack's /run shapes and orients, and /card. On a real ONNX
// session (the tiny RoBERTa fixture); test/clients.test.ts drives the real Python clients.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedModelName } from '../../src/app-deps.js';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { loadEmbedder } from '../../src/embedding/load-embedder.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { fixtureModel } from '../helpers/fixtures.js';

let embedder: Embedder;
let h: Harness;
beforeAll(async () => {
  embedder = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), threads: 1, hfHubOffline: true, cacheDir: join(tmpdir(), 'biovec-client-routes-cache') }));
  h = await createHarness({ embedder });
});
afterAll(async () => {
  await h?.close();
  await embedder?.close();
});

// Both the start and the end are longer than the model's window (128 tokens for the fixture).
const longText = (head: string) => `${head} `.repeat(200) + 'aspirin inhibits cyclooxygenase '.repeat(100);

describe('OpenAI-compatible routes', () => {
  it('errors carry OpenAI\'s error member beside the problem+json fields', async () => {
    const res = await h.call('POST', '/v1/embeddings', { input: ['ok', ''] });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: '/problems/invalid-input', status: 422, requestId: expect.any(String) });
    expect(res.body.error).toEqual({ message: res.body.detail, type: 'invalid_request_error', param: 'input', code: 'invalid-input' });
    expect(res.body.error.message).toContain('/input/1');
    // Only the OpenAI routes: TEI's and the catalog's problems stay as they were.
    expect((await h.call('POST', '/embed', { inputs: [] })).body.error).toBeUndefined();
  });

  it('refuses token ids with what to set in LangChain', async () => {
    for (const input of [[[0, 100, 2]], [0, 100, 2]]) {
      const res = await h.call('POST', '/v1/embeddings', { input });
      expect(res.status).toBe(422);
      expect(res.body.error.message).toContain('check_embedding_ctx_length=False');
      expect(res.body.error.param).toBe('input');
    }
  });

  it('refuses an over-long input unless truncate=true, which counts the dropped tokens in usage', async () => {
    const refused = await h.call('POST', '/v1/embeddings', { input: longText('word') });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/has \d+ tokens, the model takes \d+/);
    const cut = await h.call('POST', '/v1/embeddings', { input: longText('word'), truncate: true });
    expect(cut.status).toBe(200);
    expect(cut.body.usage.prompt_tokens).toBe(embedder.info.maxTokens);
    expect(cut.body.usage.dropped_tokens).toBeGreaterThan(0);
    expect((await h.call('POST', '/v1/embeddings', { input: 'aspirin' })).body.usage.dropped_tokens).toBeUndefined();
  });

  it('names a hub model by its id, a local directory by its name, unless a name is configured', () => {
    const named = (modelId: string, revision: string | undefined, configured?: string) =>
      servedModelName({ embedder: { info: { ...embedder.info, modelId, revision } } as Embedder, servedModelName: configured });
    expect(named('allenai/biomed_roberta_base', 'abc123')).toBe('allenai/biomed_roberta_base');
    expect(named('/srv/models/biomed/', undefined)).toBe('biomed');
    expect(named('/srv/models/biomed', undefined, 'eos1086')).toBe('eos1086');
  });

  it('lists the served model under a name that is never a local path; any requested name is answered', async () => {
    const list = await h.call('GET', '/v1/models');
    expect(list.body).toEqual({ object: 'list', data: [{ id: 'tiny-roberta', object: 'model', created: expect.any(Number), owned_by: 'biovec' }] });
    const res = await h.call('POST', '/v1/embeddings', { input: 'aspirin', model: 'text-embedding-3-small' });
    expect(res.body.model).toBe('tiny-roberta');
    h.deps.servedModelName = 'biomed';
    try {
      expect((await h.call('GET', '/v1/models')).body.data[0].id).toBe('biomed');
      expect((await h.call('POST', '/v1/embeddings', { input: 'aspirin' })).body.model).toBe('biomed');
    } finally {
      delete h.deps.servedModelName;
    }
  });
});

describe('TEI routes', () => {
  it('POST / answers as /embed, and an unknown key is a 422 that names it', async () => {
    const root = await h.call('POST', '/', { inputs: 'aspirin inhibits cox-1' });
    expect(root.status).toBe(200);
    expect(root.body).toEqual((await h.call('POST', '/embed', { inputs: ['aspirin inhibits cox-1'] })).body);
    const typo = await h.call('POST', '/', { inputs: 'aspirin', normalise: true });
    expect(typo.status).toBe(422);
    expect(JSON.stringify(typo.body.errors)).toContain('normalise');
    expect(typo.body.detail).toContain('normalise');
    expect((await h.call('POST', '/embed', { inputs: 'aspirin', truncation: 'left' })).status).toBe(422);
  });

  it('truncation_direction Left keeps the end of the text, Right its start', async () => {
    const embedOne = async (text: string, direction: string) => {
      const res = await h.call('POST', '/', { inputs: text, truncate: true, truncation_direction: direction });
      expect(res.status).toBe(200);
      return res.body[0] as number[];
    };
    // Different starts, same end: Left cuts the starts away, so the vectors are equal; Right keeps them.
    const leftA = await embedOne(longText('alpha'), 'Left');
    expect(await embedOne(longText('omega'), 'left')).toEqual(leftA);
    const rightA = await embedOne(longText('alpha'), 'Right');
    expect(await embedOne(longText('omega'), 'right')).not.toEqual(rightA);
    expect(rightA).not.toEqual(leftA);
    expect(await embedOne(longText('alpha'), 'Right')).toEqual((await h.call('POST', '/embed', { inputs: longText('alpha'), truncate: true })).body[0]);
  });
});

describe('TEI tokenize and decode', () => {
  it('tokenizes with the model\'s tokenizer, and decodes the ids back', async () => {
    const text = 'aspirin inhibits cox';
    const res = await h.call('POST', '/tokenize', { inputs: text });
    expect(res.status).toBe(200);
    const tokens = res.body[0] as { id: number; text: string; special: boolean; start: number | null; stop: number | null }[];
    expect(tokens[0]).toMatchObject({ text: '<s>', special: true, start: null, stop: null });
    expect(tokens.at(-1)).toMatchObject({ text: '</s>', special: true });
    for (const t of tokens.filter((t) => !t.special)) expect(text.slice(t.start!, t.stop!)).toBe(t.text);
    // The same count the embedding routes report.
    expect(tokens).toHaveLength((await h.call('POST', '/v1/embeddings', { input: text })).body.usage.prompt_tokens);
    const plain = (await h.call('POST', '/tokenize', { inputs: [text], add_special_tokens: false })).body[0];
    expect(plain).toHaveLength(tokens.length - 2);
    const ids = tokens.map((t) => t.id);
    expect((await h.call('POST', '/decode', { ids })).body).toEqual([text]);
    expect((await h.call('POST', '/decode', { ids: [ids, ids.slice(0, 2)], skip_special_tokens: false })).body[0]).toBe(`<s>${text}</s>`);
    const bad = await h.call('POST', '/decode', { ids: [0, 10_000_000] });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].pointer).toBe('/ids/1');
    expect((await h.call('POST', '/tokenize', { inputs: text, add_special: true })).status).toBe(422);
  });

  it('answers 404 where the engine has no tokenizer (the hash double)', async () => {
    const hashed = await createHarness({ embedder: new HashEmbedder() });
    try {
      const res = await hashed.call('POST', '/tokenize', { inputs: 'aspirin' });
      expect(res.status).toBe(404);
      expect(res.body.detail).toContain('tokenizer for test/hash-embedder');
      expect((await hashed.call('POST', '/decode', { ids: [1, 2] })).status).toBe(404);
    } finally {
      await hashed.close();
    }
  });
});

describe('Ersilia routes', () => {
  it('accepts ersilia-pack\'s request shapes, and its orients', async () => {
    const plain = await h.call('POST', '/run', ['aspirin', 'statins']);
    const records = await h.call('POST', '/run', [{ key: 'k1', input: 'aspirin' }, { input: 'statins' }]);
    expect(plain.status).toBe(200);
    expect(records.body.result[0]).toEqual({ key: 'k1', input: 'aspirin', outcome: plain.body.result[0].outcome });
    expect(records.body.result[1]).toEqual(plain.body.result[1]);
    const rows = plain.body.result.map((r: { outcome: number[] }) => r.outcome);
    const dims = embedder.info.dims;
    const columns = Array.from({ length: dims }, (_, i) => `dim_${String(i).padStart(3, '0')}`);
    expect((await h.call('POST', '/run?orient=values', ['aspirin', 'statins'])).body).toEqual(rows);
    expect((await h.call('POST', '/run?orient=split', ['aspirin', 'statins'])).body).toEqual({ columns, index: ['aspirin', 'statins'], data: rows });
    const asRecords = (await h.call('POST', '/run?orient=records', ['aspirin'])).body;
    expect(asRecords).toHaveLength(1);
    expect(asRecords[0].dim_000).toBe(rows[0][0]);
    expect(Object.keys(asRecords[0])).toEqual(columns);
    expect((await h.call('POST', '/run?orient=index', ['aspirin'])).body.aspirin.dim_001).toBe(rows[0][1]);
    expect((await h.call('POST', '/run?orient=columns', ['aspirin', 'statins'])).body.dim_002).toEqual({ aspirin: rows[0][2], statins: rows[1][2] });
    expect((await h.call('POST', '/run?orient=table', ['aspirin'])).status).toBe(422);
    const repeated = await h.call('POST', '/run?orient=index', ['aspirin', 'statins', 'aspirin']);
    expect(repeated.status).toBe(422);
    expect(repeated.body.errors).toEqual([{ pointer: '/2', detail: 'repeats input 0' }]);
    expect((await h.call('POST', '/run?orient=split', ['aspirin', 'aspirin'])).status).toBe(200);
    const bad = await h.call('POST', '/run', ['ok', { input: ' ' }]);
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].pointer).toBe('/1/input');
  });

  it('serves a card with eos1086\'s identifiers and the model it actually runs', async () => {
    const card = await h.call('GET', '/card');
    expect(card.status).toBe(200);
    expect(card.body).toMatchObject({
      Identifier: 'eos1086', Slug: 'embeddings-extraction', Title: 'Biomed Roberta Base', Input: 'Text', 'Output Type': 'Float',
      'Source Code': 'https://huggingface.co/allenai/biomed_roberta_base', 'Output Dimension': embedder.info.dims, 'Served Model': 'tiny-roberta', 'Is Eos1086 Model': false,
    });
  });
});
