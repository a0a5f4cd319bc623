import { describe, expect, it } from 'vitest';
import { bm25Idf } from '../../../lexical/bm25.js';
import { termId, termVector } from '../../../lexical/term-vector.js';
import { LexicalStore } from './lexical-store.js';

const PARAMS = { k1: 0.9, b: 0.4 };

describe('LexicalStore', () => {
  it('scores Lucene BM25 from live statistics', () => {
    const store = new LexicalStore();
    const texts = ['brca1 brca1 cancer', 'cancer risk in women', 'zebrafish'];
    texts.forEach((t, slot) => store.put(slot, termVector(t)));
    const [top, second] = store.search(termVector('brca1 cancer'), 10, PARAMS);
    const avg = (3 + 3 + 1) / 3; // 'in' is a stop word
    const part = (tf: number, dl: number, df: number) => bm25Idf(3, df) * (tf * (PARAMS.k1 + 1)) / (tf + PARAMS.k1 * (1 - PARAMS.b + (PARAMS.b * dl) / avg));
    expect(top).toEqual({ slot: 0, score: expect.closeTo(part(2, 3, 1) + part(1, 3, 2), 10) });
    expect(second).toEqual({ slot: 1, score: expect.closeTo(part(1, 3, 2), 10) });
    expect(store.termsAt(0)?.indices).toContain(termId('brca1'));
  });

  it('stays exact through many rewrites and deletes (dead postings swept)', () => {
    const store = new LexicalStore();
    const reference = new LexicalStore();
    for (let round = 0; round < 30; round++) {
      for (let slot = 0; slot < 300; slot++) store.put(slot, termVector(`common word${slot % 7} round${round} ${slot % 3 === 0 ? 'rare' : ''}`));
      for (let slot = 0; slot < 300; slot += 5) store.remove(slot);
    }
    for (let slot = 0; slot < 300; slot++) if (slot % 5 !== 0) reference.put(slot, termVector(`common word${slot % 7} round29 ${slot % 3 === 0 ? 'rare' : ''}`));
    for (const q of ['rare', 'common word3', 'round29 rare', 'round3']) {
      const got = store.search(termVector(q), 50, PARAMS);
      const want = reference.search(termVector(q), 50, PARAMS);
      expect(got.map((h) => h.slot)).toEqual(want.map((h) => h.slot));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
    }
    expect(store.search(termVector('round3'), 10, PARAMS)).toEqual([]);
    const allowed = new Uint8Array(300);
    allowed[3] = 1;
    expect(store.search(termVector('rare'), 10, PARAMS, allowed).map((h) => h.slot)).toEqual([3]);
  });
});
