import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import type { VectorIndex } from '../../src/vectors/vector-index.js';
import { createHarness } from '../helpers/app-harness.js';

// Issue 11: an index collection lost behind biovec's back (a lost Qdrant volume, a manual
// delete) made search answer 200 with no hits, and /ready stay 200, forever.
describe('an index collection lost behind biovec\'s back (PGlite, embedded index)', () => {
  it('search answers 503 instead of no hits, /ready names it, and the worker rebuilds it from the catalog', async () => {
    let inner!: VectorIndex;
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), wrapIndex: (index) => (inner = index) });
    try {
      // No background loop: its own periodic check would race the steps below; h.drain() applies the outbox.
      await h.deps.worker.stop();
      const docs = [
        { id: 'd1', text: 'aspirin inhibits platelet aggregation' },
        { id: 'd2', text: 'statins lower cholesterol' },
        { id: 'd3', text: 'metformin lowers hba1c' },
      ];
      expect((await h.call('POST', '/v1/collections/default/documents', docs)).status).toBeLessThan(300);
      await h.drain();
      const search = () => h.call('POST', '/v1/collections/default/search', { query: 'statins cholesterol', k: 3 });
      const before = await search();
      expect(before.status).toBe(200);
      expect(before.body.results).toHaveLength(3);
      expect((await h.call('GET', '/ready')).status).toBe(200);

      // Dropped by a caller the app and its worker know nothing of.
      await inner.dropCollection('default__v1');
      const lost = await search();
      expect(lost.status).toBe(503);
      expect(lost.headers.get('content-type')).toContain('application/problem+json');
      expect(lost.body).toMatchObject({ type: '/problems/upstream-unavailable', detail: expect.stringMatching(/index of collection default is not there yet .* or was lost/) });
      const ready = await h.call('GET', '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.index).toMatchObject({ ok: false, detail: expect.stringMatching(/missing for default/) });

      // What the worker's background loop does every indexCheckMs, called here to stay untimed.
      expect(await h.deps.worker.rebuildMissingIndexes()).toEqual(['default']);
      await h.drain();
      const after = await search();
      expect(after.status).toBe(200);
      expect(after.body.results.map((r: { id: string }) => r.id)).toEqual(before.body.results.map((r: { id: string }) => r.id));
      expect((await h.call('GET', '/ready')).status).toBe(200);

      // An empty collection has no index collection yet, and that is no hits, not an outage.
      expect((await h.call('POST', '/v1/collections', { name: 'empty' })).status).toBe(201);
      const empty = await h.call('POST', '/v1/collections/empty/search', { query: 'anything', k: 3 });
      expect(empty.status).toBe(200);
      expect(empty.body.results).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
