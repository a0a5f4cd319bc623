import { describe, expect, it } from 'vitest';
import { fuseRankings, type LegCandidate } from './fusion.js';

const leg = (...pairs: [string, number][]): LegCandidate<string>[] => pairs.map(([key, score]) => ({ key, score, item: key }));

describe('fuseRankings', () => {
  const dense = leg(['a', 0.9], ['b', 0.8], ['c', 0.5]);
  const lexical = leg(['c', 12], ['d', 6], ['a', 2]);

  it('weighted: min-max normalises each leg and mixes them by the dense weight; a leg that missed adds 0', () => {
    const fused = fuseRankings(dense, lexical, { method: 'weighted', denseWeight: 0.5, rrfK: 60 });
    const score = Object.fromEntries(fused.map((f) => [f.key, f.score]));
    expect(score.a).toBeCloseTo(0.5 * 1 + 0.5 * 0, 10);
    expect(score.b).toBeCloseTo(0.5 * 0.75, 10);
    expect(score.c).toBeCloseTo(0.5 * 0 + 0.5 * 1, 10);
    expect(score.d).toBeCloseTo(0.5 * 0.4, 10);
    // a and c tie at 0.5: the better dense rank goes first.
    expect(fused.map((f) => f.key)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.legs).toEqual({ dense: { rank: 1, score: 0.9 }, lexical: { rank: 3, score: 2 } });
    expect(fused.find((f) => f.key === 'd')!.legs).toEqual({ lexical: { rank: 2, score: 6 } });
  });

  it('weighted 1 and 0 reproduce the dense and the lexical order', () => {
    expect(fuseRankings(dense, lexical, { method: 'weighted', denseWeight: 1, rrfK: 60 }).slice(0, 3).map((f) => f.key)).toEqual(['a', 'b', 'c']);
    expect(fuseRankings(dense, lexical, { method: 'weighted', denseWeight: 0, rrfK: 60 }).slice(0, 3).map((f) => f.key)).toEqual(['c', 'd', 'a']);
  });

  it('rrf: sums 1/(k + rank) over the legs', () => {
    const fused = fuseRankings(dense, lexical, { method: 'rrf', denseWeight: 0.5, rrfK: 10 });
    const score = Object.fromEntries(fused.map((f) => [f.key, f.score]));
    expect(score.a).toBeCloseTo(1 / 11 + 1 / 13, 12);
    expect(score.c).toBeCloseTo(1 / 13 + 1 / 11, 12);
    expect(score.b).toBeCloseTo(1 / 12, 12);
    expect(fused.map((f) => f.key)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('copes with an empty leg and a leg of equal scores', () => {
    expect(fuseRankings(leg(['a', 1], ['b', 1]), [], { method: 'weighted', denseWeight: 0.7, rrfK: 60 }).map((f) => [f.key, f.score])).toEqual([['a', 0.7], ['b', 0.7]]);
    expect(fuseRankings([], [], { method: 'rrf', denseWeight: 0.5, rrfK: 60 })).toEqual([]);
  });
});
