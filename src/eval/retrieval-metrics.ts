/** Graded judgements of one query: document id → relevance (≤ 0 is judged not relevant). */
export type Judgements = Map<string, number>;

export interface RankedHit {
  id: string;
  score: number;
}

export interface QueryScores {
  ndcgAt10: number;
  recallAt10: number;
  recallAt100: number;
  mrrAt10: number;
}

/**
 * trec_eval's ranking: score descending, ties broken by document id descending. BEIR's
 * pytrec_eval ranks the same way, so tied scores cannot move a figure away from theirs.
 */
export function rankLikeTrecEval(hits: RankedHit[]): RankedHit[] {
  return [...hits].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** ndcg_cut_k: linear gains (the judged grade), log2(rank + 1) discount, ideal from every judged-relevant document. */
export function ndcgAt(k: number, ranked: RankedHit[], judged: Judgements): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((hit, i) => {
    const gain = judged.get(hit.id) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  });
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return idcg > 0 ? dcg / idcg : 0;
}

/** recall_k: judged-relevant documents in the top k over all judged-relevant documents (relevance level 1). */
export function recallAt(k: number, ranked: RankedHit[], judged: Judgements): number {
  const relevant = [...judged.values()].filter((g) => g > 0).length;
  if (relevant === 0) return 0;
  return ranked.slice(0, k).filter((h) => (judged.get(h.id) ?? 0) > 0).length / relevant;
}

/** recip_rank over the top k: 1 / rank of the first relevant document, 0 when none is in the top k. */
export function mrrAt(k: number, ranked: RankedHit[], judged: Judgements): number {
  const at = ranked.slice(0, k).findIndex((h) => (judged.get(h.id) ?? 0) > 0);
  return at < 0 ? 0 : 1 / (at + 1);
}

/** The four figures for one query; `hits` in any order. */
export function scoreQuery(hits: RankedHit[], judged: Judgements): QueryScores {
  const ranked = rankLikeTrecEval(hits);
  return {
    ndcgAt10: ndcgAt(10, ranked, judged),
    recallAt10: recallAt(10, ranked, judged),
    recallAt100: recallAt(100, ranked, judged),
    mrrAt10: mrrAt(10, ranked, judged),
  };
}

/** Mean of each figure over queries (trec_eval's `all` line). Zeros for no queries. */
export function meanScores(perQuery: QueryScores[]): QueryScores {
  const n = perQuery.length || 1;
  const sum = (f: keyof QueryScores) => perQuery.reduce((s, q) => s + q[f], 0) / n;
  return { ndcgAt10: sum('ndcgAt10'), recallAt10: sum('recallAt10'), recallAt100: sum('recallAt100'), mrrAt10: sum('mrrAt10') };
}
