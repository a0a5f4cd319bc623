import { describe, expect, it } from 'vitest';
import { assertDocumentFields, documentFieldIssues, MAX_METADATA_DEPTH, metadataIssues } from './validate-document-fields.js';
import { InvalidInputError } from '../lib/errors.js';

describe('documentFieldIssues (shared by every ingest route)', () => {
  it('names each field holding U+0000 or invalid Unicode', () => {
    const issues = documentFieldIssues({ externalId: 'a\u0000', title: '\ud800', body: 'ok', labels: ['x', 'y\u0000'], metadata: { 'k\u0000': 1, ok: { deep: ['v\u0000'] } } }, '/7');
    expect(issues.map((i) => i.pointer).sort()).toEqual(['/7/id', '/7/labels/1', '/7/metadata/k\u0000', '/7/metadata/ok/deep/0', '/7/title'].sort());
    expect(documentFieldIssues({ externalId: 'fine', title: null, body: 'text', labels: [], metadata: { year: 2001, mesh: ['D1'] } })).toEqual([]);
    expect(() => assertDocumentFields({ externalId: 'x', body: 'a\u0000' })).toThrow(InvalidInputError);
  });

  it('bounds metadata depth without recursing, and refuses __proto__ keys and non-finite numbers', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    const [issue] = metadataIssues(deep);
    expect(issue!.pointer).toBe(`/metadata${'/a'.repeat(MAX_METADATA_DEPTH)}`);
    expect(issue!.detail).toMatch(/deeper than 32/);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_METADATA_DEPTH; i++) ok = { a: ok };
    expect(metadataIssues(ok)).toEqual([]);
    expect(metadataIssues(JSON.parse('{"x":{"__proto__":1}}'))).toEqual([{ pointer: '/metadata/x/__proto__', detail: 'is a reserved key' }]);
    expect(metadataIssues({ a: Infinity, 'b/c': NaN }).map((i) => i.pointer).sort()).toEqual(['/metadata/a', '/metadata/b~1c']);
  });
});
