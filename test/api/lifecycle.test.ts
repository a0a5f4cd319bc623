import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startServer } from '../../src/main.js';

/** The hash embedder, except that inference waits until released: work stuck mid-batch. */
function stuckEmbedder(): { embedder: Embedder; stuck: () => number; release: () => void } {
  const inner = new HashEmbedder(32, 32);
  const waiting: (() => void)[] = [];
  let isReleased = false;
  const gate = () => (isReleased ? Promise.resolve() : new Promise<void>((r) => waiting.push(r)));
  const embedder: Embedder = {
    info: inner.info,
    chunk: (text, options) => inner.chunk(text, options),
    embed: async (texts, options) => { await gate(); return inner.embed(texts, options); },
    embedChunks: async (chunks, options) => { await gate(); return inner.embedChunks(chunks); },
    close: () => inner.close(),
  };
  return { embedder, stuck: () => waiting.length, release: () => { isReleased = true; waiting.splice(0).forEach((r) => r()); } };
}

describe('the served embedder', () => {
  it('bounds each request\'s wait for inference by BIOVEC_MAX_QUEUE_WAIT_MS', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'biovec-wait-'));
    const inner = new HashEmbedder(32, 32);
    const seen: (number | undefined)[] = [];
    const embedder: Embedder = {
      info: inner.info,
      chunk: (text, options) => inner.chunk(text, options),
      embed: (texts, options) => { seen.push(options?.maxQueueWaitMs); return inner.embed(texts, options); },
      embedChunks: (chunks, options) => { seen.push(options?.maxQueueWaitMs); return inner.embedChunks(chunks); },
      close: () => inner.close(),
    };
    const server = await startServer(loadConfig({ BIOVEC_DATA_DIR: dataDir, BIOVEC_PORT: '0', BIOVEC_MAX_QUEUE_WAIT_MS: '1234' }), { embedder, logger: silentLogger() });
    try {
      const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post('/v1/embeddings', { input: 'aspirin' })).status).toBe(200);
      expect((await post('/v1/collections/default/documents', [{ id: 'a', text: 'aspirin' }])).status).toBe(200);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.every((ms) => ms === 1234)).toBe(true);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('shutdown', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(join(tmpdir(), 'biovec-shutdown-')); });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('finishes within one deadline with a request and an import stuck mid-inference', async () => {
    const { embedder, stuck, release } = stuckEmbedder();
    const server = await startServer(loadConfig({ BIOVEC_DATA_DIR: dataDir, BIOVEC_PORT: '0', BIOVEC_SHUTDOWN_TIMEOUT_MS: '2500' }), { embedder, logger: silentLogger() });
    try {
      const request = fetch(`${server.url}/v1/collections/default/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ id: 'a', text: 'in flight' }]) }).catch(() => undefined);
      const ndjson = Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `imp-${i}`, text: `imported ${i}` })).join('\n');
      expect((await fetch(`${server.url}/v1/collections/default/imports?format=ndjson`, { method: 'POST', body: ndjson })).status).toBe(202);
      for (let i = 0; i < 2000 && stuck() < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(stuck()).toBe(2);
      // Before one deadline, closing waited for the import's batch without bound (and 20 s for HTTP).
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([server.close().then(() => 'closed'), new Promise((r) => { timer = setTimeout(() => r('still waiting'), 60_000); })]);
      clearTimeout(timer);
      expect(outcome).toBe('closed');
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
      await request;
    } finally {
      release();
    }
  });
});
