import type { DocumentView, Hit } from './api.js';
import { h } from './dom.js';
import { highlightedAbstract } from './highlight.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export function authorsOf(metadata: Record<string, unknown>): string | undefined {
  const a = metadata.authors;
  if (Array.isArray(a)) {
    const names = a.filter((x): x is string => typeof x === 'string');
    if (names.length === 0) return undefined;
    return names.length > 3 ? `${names.slice(0, 3).join(', ')} et al.` : names.join(', ');
  }
  return str(a);
}

/** A PMID from the metadata, or a document id that is one (PubMed imports use the PMID as id). */
export function pmidOf(id: string, metadata: Record<string, unknown>): string | undefined {
  const explicit = str(metadata.pmid);
  if (explicit && /^\d{1,9}$/.test(explicit)) return explicit;
  const m = /^(?:pmid:)?(\d{1,9})$/i.exec(id);
  return m?.[1];
}

export interface CardActions {
  onMoreLikeThis(id: string): void;
  onFacet(field: 'labels' | 'journal', value: string): void;
}

/** One result: title, authors/journal/year, PMID/DOI links, score, labels, and the best chunk marked in the abstract. */
export function hitCard(hit: Hit, rank: number, actions: CardActions): { card: HTMLElement; showDocument(doc: DocumentView): void } {
  const md = hit.metadata;
  const journal = str(md.journal);
  const year = str(md.year);
  const doi = str(md.doi);
  const pmid = pmidOf(hit.id, md);
  const titleId = `hit-title-${rank}`;
  const body = h('div', { class: 'abstract-slot' },
    hit.chunk.text !== undefined ? h('p', { class: 'abstract' }, h('mark', { class: 'best-chunk' }, hit.chunk.text)) : null);
  const card = h('article', { class: 'hit', 'aria-labelledby': titleId, 'data-id': hit.id },
    h('h3', { id: titleId }, hit.title ?? hit.id),
    h('p', { class: 'byline' },
      authorsOf(md) ? h('span', { class: 'authors' }, authorsOf(md)!) : null,
      journal ? h('button', { type: 'button', class: 'link journal', title: `Filter by journal ${journal}`, onclick: () => actions.onFacet('journal', journal) }, journal) : null,
      year ? h('span', { class: 'year' }, year) : null),
    h('p', { class: 'ids' },
      h('span', { class: 'score' }, `score ${hit.score.toFixed(4)}`),
      pmid ? h('a', { href: `https://pubmed.ncbi.nlm.nih.gov/${pmid}/`, rel: 'noopener', target: '_blank' }, `PMID ${pmid}`) : h('span', { class: 'docid' }, hit.id),
      doi ? h('a', { href: `https://doi.org/${doi}`, rel: 'noopener', target: '_blank' }, `DOI ${doi}`) : null,
      ...hit.labels.map((l) => h('button', { type: 'button', class: 'chip', title: `Filter by label ${l}`, onclick: () => actions.onFacet('labels', l) }, l))),
    body,
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary more-like-this', 'aria-describedby': titleId, onclick: () => actions.onMoreLikeThis(hit.id) }, 'More like this')),
  );
  return { card, showDocument: (doc) => body.replaceChildren(highlightedAbstract(doc, hit.chunk)) };
}
