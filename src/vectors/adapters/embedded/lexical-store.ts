import { bm25Idf, type Bm25Params } from '../../../lexical/bm25.js';
import type { SparseVector } from '../../vector-index.js';
import { TopK } from './top-k.js';

/** One term's postings: parallel growable arrays of slot, the slot's generation then, and tf. */
interface Postings {
  slots: Int32Array;
  generations: Uint32Array;
  tfs: Float32Array;
  length: number;
}

/**
 * The inverted index of one embedded collection, slot-addressed like its PointStore: per
 * term, postings (slot, tf); per slot, its term vector and length. BM25 is scored at query
 * time from live statistics (document count, document frequencies, average length), so it is
 * exact whatever was written or deleted since. A rewritten or deleted slot bumps its
 * generation, which leaves its old postings dead in place; they are skipped on the way and
 * swept once they outnumber the live ones, so writes stay O(terms) however long the lists.
 */
export class LexicalStore {
  private readonly termsOf: (SparseVector | undefined)[] = [];
  private generation = new Uint32Array(1024);
  private lengthOf = new Float32Array(1024);
  private readonly postings = new Map<number, Postings>();
  private readonly documentFrequency = new Map<number, number>();
  private documents = 0;
  private totalLength = 0;
  private livePostings = 0;
  private deadPostings = 0;

  /** The term vector at a slot, if it has one. */
  termsAt(slot: number): SparseVector | undefined {
    return this.termsOf[slot];
  }

  /** Sets (or, with undefined, clears) the term vector of a slot. */
  put(slot: number, terms: SparseVector | undefined): void {
    this.remove(slot);
    if (!terms || terms.indices.length === 0) return;
    this.grow(slot + 1);
    this.termsOf[slot] = terms;
    let length = 0;
    const gen = this.generation[slot]!;
    for (let i = 0; i < terms.indices.length; i++) {
      const term = terms.indices[i]!;
      const tf = terms.values[i]!;
      length += tf;
      this.append(term, slot, gen, tf);
      this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
    }
    this.lengthOf[slot] = length;
    this.documents += 1;
    this.totalLength += length;
    this.livePostings += terms.indices.length;
  }

  remove(slot: number): void {
    const terms = this.termsOf[slot];
    if (!terms) return;
    this.termsOf[slot] = undefined;
    this.generation[slot] = this.generation[slot]! + 1;
    for (const term of terms.indices) {
      const df = (this.documentFrequency.get(term) ?? 1) - 1;
      if (df <= 0) this.documentFrequency.delete(term);
      else this.documentFrequency.set(term, df);
    }
    this.documents -= 1;
    this.totalLength -= this.lengthOf[slot]!;
    this.livePostings -= terms.indices.length;
    this.deadPostings += terms.indices.length;
    if (this.deadPostings > 4096 && this.deadPostings > this.livePostings) this.sweep();
  }

  /** The `limit` best slots by BM25 for the query's terms, among `allowed` when given. */
  search(query: SparseVector, limit: number, params: Bm25Params, allowed?: Uint8Array): { slot: number; score: number }[] {
    if (this.documents === 0 || limit <= 0) return [];
    const avgLength = this.totalLength / this.documents;
    const scores = new Float64Array(this.termsOf.length);
    const touched: number[] = [];
    for (let q = 0; q < query.indices.length; q++) {
      const term = query.indices[q]!;
      const list = this.postings.get(term);
      const df = this.documentFrequency.get(term);
      if (!list || !df) continue;
      const weight = query.values[q]! * bm25Idf(this.documents, df) * (params.k1 + 1);
      const { slots, generations, tfs, length } = list;
      for (let i = 0; i < length; i++) {
        const slot = slots[i]!;
        if (generations[i] !== this.generation[slot] || (allowed && allowed[slot] !== 1)) continue;
        const tf = tfs[i]!;
        const norm = params.k1 * (1 - params.b + (params.b * this.lengthOf[slot]!) / avgLength);
        if (scores[slot] === 0) touched.push(slot);
        scores[slot] = scores[slot]! + (weight * tf) / (tf + norm);
      }
    }
    const top = new TopK(limit);
    for (const slot of touched) top.push(slot, scores[slot]!);
    return top.sorted();
  }

  private append(term: number, slot: number, gen: number, tf: number): void {
    let list = this.postings.get(term);
    if (!list) {
      list = { slots: new Int32Array(4), generations: new Uint32Array(4), tfs: new Float32Array(4), length: 0 };
      this.postings.set(term, list);
    }
    if (list.length === list.slots.length) {
      const size = list.length * 2;
      const slots = new Int32Array(size); slots.set(list.slots); list.slots = slots;
      const gens = new Uint32Array(size); gens.set(list.generations); list.generations = gens;
      const tfs = new Float32Array(size); tfs.set(list.tfs); list.tfs = tfs;
    }
    list.slots[list.length] = slot;
    list.generations[list.length] = gen;
    list.tfs[list.length] = tf;
    list.length += 1;
  }

  /** Drops dead postings (rewritten or deleted slots), list by list. */
  private sweep(): void {
    for (const [term, list] of this.postings) {
      let kept = 0;
      for (let i = 0; i < list.length; i++) {
        if (list.generations[i] !== this.generation[list.slots[i]!]) continue;
        list.slots[kept] = list.slots[i]!;
        list.generations[kept] = list.generations[i]!;
        list.tfs[kept] = list.tfs[i]!;
        kept += 1;
      }
      if (kept === 0) this.postings.delete(term);
      else list.length = kept;
    }
    this.deadPostings = 0;
  }

  private grow(slots: number): void {
    if (slots <= this.generation.length) return;
    const size = Math.max(slots, this.generation.length * 2);
    const gens = new Uint32Array(size); gens.set(this.generation); this.generation = gens;
    const lengths = new Float32Array(size); lengths.set(this.lengthOf); this.lengthOf = lengths;
  }
}
