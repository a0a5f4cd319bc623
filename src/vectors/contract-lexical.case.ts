import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../lib/errors.js';
import { termVector } from '../lexical/term-vector.js';
import type { ContractSubject } from './contract.case.js';
import { pointId } from './point-id.js';
import type { LexicalQuery, VectorIndex, VectorPoint } from './vector-index.js';

const DIMS = 4;

const TEXTS = [
  'Interleukin IL-6 signalling drives the acute phase response in sepsis',
  'BRCA1 and BRCA2 mutations raise the risk of breast and ovarian cancer',
  'BRCA1 BRCA1 BRCA1 carriers: a cohort of breast cancer patients',
  'COVID-19 vaccine trial in older adults',
  'Aspirin inhibits platelet aggregation',
  'Statins lower cholesterol and cardiovascular risk',
  'Sepsis mortality in intensive care units',
  'Metformin in type 2 diabetes and cancer risk',
];

function makePoints(collection: string, texts = TEXTS): VectorPoint[] {
  return texts.map((text, i) => ({
    id: pointId(collection, `doc-${i}`, 0),
    vector: Float32Array.from([1 + i, 1, (i % 3) - 1, 0.5]),
    payload: { document_id: `doc-${i}`, chunk_index: 0, labels: i % 2 === 0 ? ['even'] : ['odd'] },
    terms: termVector(text),
  }));
}

const query = (text: string, k = 10, extra: Partial<LexicalQuery> = {}): LexicalQuery => ({ terms: termVector(text), k, ...extra });
const docIds = (hits: { payload: Record<string, unknown> }[]) => hits.map((h) => h.payload.document_id);

/**
 * The lexical (BM25 sparse vector) part of the conformance suite: what every adapter must do
 * with points' term vectors. Rankings are asserted only where BM25 is unambiguous, since
 * Qdrant normalises lengths against a configured average and the embedded index against the
 * live one.
 */
export function runLexicalContract(adapter: string, make: () => Promise<ContractSubject>): void {
  describe(`VectorIndex lexical contract: ${adapter}`, () => {
    let subject: ContractSubject;
    let index: VectorIndex;
    const names: string[] = [];
    const fresh = async (lexical = true) => {
      const name = `lexical_${randomUUID().slice(0, 8)}`;
      names.push(name);
      await index.ensureCollection({ name, dims: DIMS, distance: 'cosine', lexical, payloadIndexes: [{ field: 'document_id', type: 'keyword' }, { field: 'labels', type: 'keyword' }, { field: 'chunk_index', type: 'integer' }] });
      return name;
    };

    beforeAll(async () => {
      subject = await make();
      index = subject.index;
    });
    afterAll(async () => {
      for (const name of names) await index.dropCollection(name).catch(() => undefined);
      await index.close();
      await subject.cleanup();
    });

    it('says which collections are lexical; lexical search elsewhere is refused, on no collection not found', async () => {
      const lexical = await fresh();
      const dense = await fresh(false);
      expect(await index.collectionInfo(lexical)).toMatchObject({ lexical: true, points: 0 });
      expect(await index.collectionInfo(dense)).toMatchObject({ lexical: false });
      expect(await index.searchLexical(lexical, query('sepsis'))).toEqual([]);
      await expect(index.searchLexical(dense, query('sepsis'))).rejects.toBeInstanceOf(InvalidInputError);
      await expect(index.searchLexical(`absent_${randomUUID().slice(0, 8)}`, query('sepsis'))).rejects.toBeInstanceOf(NotFoundError);
      // A dense collection takes points with terms and keeps serving dense search.
      await index.upsert(dense, makePoints(dense));
      expect(await index.count(dense)).toBe(TEXTS.length);
    });

    it('finds exactly the points sharing a query term, best first; biomedical tokens match whole', async () => {
      const name = await fresh();
      await index.upsert(name, makePoints(name));
      const brca = await index.searchLexical(name, query('BRCA1 carriers'));
      expect(docIds(brca)).toEqual(['doc-2', 'doc-1']);
      expect(brca[0]!.score).toBeGreaterThan(brca[1]!.score);
      expect(brca[1]!.score).toBeGreaterThan(0);
      expect(brca[0]!.payload).toEqual({ document_id: 'doc-2', chunk_index: 0, labels: ['even'] });
      expect(docIds(await index.searchLexical(name, query('il-6')))).toEqual(['doc-0']);
      expect(docIds(await index.searchLexical(name, query('covid-19')))).toEqual(['doc-3']);
      expect(new Set(docIds(await index.searchLexical(name, query('cancer risk'))))).toEqual(new Set(['doc-1', 'doc-2', 'doc-5', 'doc-7']));
      expect(await index.searchLexical(name, query('zebrafish'))).toEqual([]);
      expect(await index.searchLexical(name, query('the of and'))).toEqual([]);
      // Dense search over the same collection is unaffected.
      expect(await index.search(name, { vector: Float32Array.from([1, 1, -1, 0.5]), k: 3 })).toHaveLength(3);
    });

    it('applies filters and pages with offset', async () => {
      const name = await fresh();
      await index.upsert(name, makePoints(name));
      const all = await index.searchLexical(name, query('cancer risk sepsis'));
      expect(all.length).toBe(6);
      const even = await index.searchLexical(name, query('cancer risk sepsis', 10, { filter: { must: [{ key: 'labels', match: 'even' }] } }));
      expect(even.length).toBeGreaterThan(0);
      expect(even.every((h) => (h.payload.labels as string[]).includes('even'))).toBe(true);
      expect(new Set(docIds(even))).toEqual(new Set(docIds(all).filter((id) => Number(String(id).slice(4)) % 2 === 0)));
      const page = await index.searchLexical(name, query('cancer risk sepsis', 2, { offset: 2 }));
      expect(page.map((h) => h.id)).toEqual(all.slice(2, 4).map((h) => h.id));
    });

    it('forgets deleted and rewritten points; points without terms never match', async () => {
      const name = await fresh();
      const points = makePoints(name);
      await index.upsert(name, points);
      await index.deleteByIds(name, [points[2]!.id]);
      expect(docIds(await index.searchLexical(name, query('BRCA1')))).toEqual(['doc-1']);
      await index.deleteByFilter(name, { must: [{ key: 'document_id', any: ['doc-1'] }] });
      expect(await index.searchLexical(name, query('BRCA1'))).toEqual([]);
      // Rewritten with other text: matches the new words only. Rewritten without terms: matches nothing.
      await index.upsert(name, [{ ...points[0]!, terms: termVector('zebrafish heart regeneration') }, { ...points[4]!, terms: undefined }]);
      expect(docIds(await index.searchLexical(name, query('zebrafish')))).toEqual(['doc-0']);
      expect(await index.searchLexical(name, query('il-6'))).toEqual([]);
      expect(await index.searchLexical(name, query('aspirin'))).toEqual([]);
      expect(await index.count(name)).toBe(TEXTS.length - 2);
    });

    it('hands back each point\'s term ids when iterating with vectors', async () => {
      const name = await fresh();
      const points = makePoints(name);
      await index.upsert(name, points);
      const stored = [];
      for await (const batch of index.iterate(name, { withVectors: true })) stored.push(...batch);
      const want = new Map(points.map((p) => [p.id, [...p.terms!.indices]]));
      expect(stored).toHaveLength(points.length);
      for (const point of stored) expect([...point.termIds!]).toEqual(want.get(point.id));
    });

    it('gives an existing dense collection a lexical index where it can add one in place, and serves it then', async () => {
      const name = await fresh(false);
      await index.upsert(name, makePoints(name));
      await index.ensureCollection({ name, dims: DIMS, distance: 'cosine', lexical: true });
      const info = await index.collectionInfo(name);
      expect(info?.points).toBe(TEXTS.length);
      if (!info?.lexical) {
        await expect(index.searchLexical(name, query('BRCA1'))).rejects.toBeInstanceOf(InvalidInputError);
        return; // Qdrant: a sparse vector cannot be added to a collection (reconcile --lexical re-creates it)
      }
      expect(await index.searchLexical(name, query('BRCA1'))).toEqual([]); // written before: no terms yet
      await index.upsert(name, makePoints(name));
      expect(docIds(await index.searchLexical(name, query('BRCA1')))).toEqual(['doc-2', 'doc-1']);
    });

    it('keeps the lexical index across a reopen', async () => {
      if (!subject.reopen) return;
      const name = await fresh();
      const points = makePoints(name);
      await index.upsert(name, points);
      await index.deleteByIds(name, [points[2]!.id]);
      const before = await index.searchLexical(name, query('cancer risk sepsis'));
      index = await subject.reopen();
      subject.index = index;
      expect(await index.collectionInfo(name)).toMatchObject({ lexical: true });
      const after = await index.searchLexical(name, query('cancer risk sepsis'));
      expect(after.map((h) => h.id)).toEqual(before.map((h) => h.id));
      after.forEach((h, i) => expect(h.score).toBeCloseTo(before[i]!.score, 5));
    });
  });
}
