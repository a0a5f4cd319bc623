/** BM25 parameters: `k1` saturates term frequency, `b` normalises by document length (0 = not at all). */
export interface Bm25Params {
  k1: number;
  b: number;
}

/** Anserini's BEIR "flat" baseline settings, which also measured best for biovec on SciFact. */
export const DEFAULT_BM25: Bm25Params = { k1: 0.9, b: 0.4 };

/** Lucene's (and Qdrant's `modifier: idf`) inverse document frequency: never negative. */
export function bm25Idf(documents: number, documentFrequency: number): number {
  return Math.log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/** A term's weight in one document, before IDF: tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)). */
export function bm25TermWeight(tf: number, docLength: number, avgDocLength: number, params: Bm25Params): number {
  const norm = params.k1 * (1 - params.b + (params.b * docLength) / Math.max(avgDocLength, 1e-9));
  return (tf * (params.k1 + 1)) / (tf + norm);
}
