import { api, ApiError, enc, getDocument, postJson, type Collection, type Hit, type SearchResponse } from './api.js';
import { fill, h, saveBlob } from './dom.js';
import { authorsOf, hitCard } from './hit-card.js';
import { exportParams, readState, searchBody, writeState, type SearchState } from './search-state.js';
import { countTokens } from './token-counter.js';

export interface SearchViewDeps {
  collections(): Promise<Collection[]>;
  showError(err: unknown): void;
  clearError(): void;
}

const EXPORT_FORMATS = ['csv', 'jsonl', 'npy', 'ids', 'parquet'] as const;

function field(id: string, label: string, input: HTMLElement, hint?: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ?? null);
}

/** The search page: one box (or "more like this"), collection, filters, k/paging, results, facets, export. */
export function renderSearchView(root: HTMLElement, deps: SearchViewDeps): void {
  let state = readState(location.search);
  let results: Hit[] = [];
  let collections: Collection[] = [];
  const q = h('input', { id: 'q', name: 'q', type: 'search', autocomplete: 'off', placeholder: 'e.g. aspirin and platelet aggregation', 'aria-describedby': 'token-count', value: state.query });
  const tokenCount = h('p', { id: 'token-count', class: 'hint', 'aria-live': 'polite' }, '');
  const collection = h('select', { id: 'collection', name: 'collection' });
  const mode = h('select', { id: 'mode', name: 'mode' }, ...[['', 'server default'], ['hybrid', 'hybrid (BM25 + dense)'], ['dense', 'dense'], ['lexical', 'lexical (BM25)']].map(([v, t]) => h('option', { value: v!, selected: v === state.mode }, t!)));
  const k = h('select', { id: 'k', name: 'k' }, ...[10, 20, 50, 100].map((n) => h('option', { value: n, selected: n === state.k }, n)));
  const input = (id: string, value: string, extra: Record<string, string> = {}) => h('input', { id, name: id, value, autocomplete: 'off', ...extra });
  const yearFrom = input('year-from', state.yearFrom, { inputmode: 'numeric', pattern: '-?[0-9]{1,7}', size: '6' });
  const yearTo = input('year-to', state.yearTo, { inputmode: 'numeric', pattern: '-?[0-9]{1,7}', size: '6' });
  const labels = input('labels', state.labels, { placeholder: 'comma-separated' });
  const journal = input('journal', state.journal, { placeholder: 'comma-separated' });
  const mesh = input('mesh', state.mesh, { placeholder: 'comma-separated' });
  const likeNote = h('p', { id: 'like-note', class: 'hint' });
  const summary = h('p', { id: 'result-summary', 'aria-live': 'polite' });
  const list = h('ol', { id: 'results', class: 'results' });
  const facets = h('aside', { id: 'facets', 'aria-labelledby': 'facets-h' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' });
  const exportFormat = h('select', { id: 'export-format' }, ...EXPORT_FORMATS.map((f) => h('option', { value: f }, f)));

  const form = h('form', { role: 'search', id: 'search-form', 'aria-label': 'Search the literature', onsubmit: (e) => { e.preventDefault(); void submit({ offset: 0 }); } },
    h('div', { class: 'query-row' }, field('q', 'Query', q, tokenCount), h('button', { type: 'submit', id: 'search-button' }, 'Search')),
    likeNote,
    h('div', { class: 'row wrap' }, field('collection', 'Collection', collection), field('k', 'Results per page', k), field('mode', 'Mode', mode)),
    h('fieldset', { class: 'filters' }, h('legend', {}, 'Filters'),
      h('div', { class: 'row wrap' }, field('year-from', 'Year from', yearFrom), field('year-to', 'Year to', yearTo), field('labels', 'Labels', labels), field('journal', 'Journal', journal), field('mesh', 'MeSH terms', mesh))));

  fill(root,
    h('h1', { class: 'visually-hidden' }, 'Search'),
    form,
    h('div', { class: 'layout' },
      h('section', { class: 'results-pane', 'aria-labelledby': 'results-h' }, h('h2', { id: 'results-h' }, 'Results'), summary, list, pager),
      facets),
    h('section', { class: 'export', 'aria-labelledby': 'export-h' },
      h('h2', { id: 'export-h' }, 'Export'),
      h('div', { class: 'row wrap' },
        h('button', { type: 'button', id: 'export-results-csv', class: 'secondary', onclick: () => exportResults('csv') }, 'These results as CSV'),
        h('button', { type: 'button', id: 'export-results-jsonl', class: 'secondary', onclick: () => exportResults('jsonl') }, 'These results as JSONL'),
        field('export-format', 'Collection vectors (labels and year filters apply)', exportFormat),
        h('button', { type: 'button', id: 'export-collection', class: 'secondary', onclick: () => void exportCollection() }, 'Download vectors'))));

  const current = (): SearchState => ({
    ...state, collection: collection.value, query: q.value, k: Number(k.value), mode: mode.value, yearFrom: yearFrom.value, yearTo: yearTo.value, labels: labels.value, journal: journal.value, mesh: mesh.value,
  });

  const maxTokens = () => collections.find((c) => c.name === collection.value)?.model.max_tokens;
  const updateCount = async () => {
    const text = q.value;
    try {
      const c = await countTokens(text, maxTokens());
      if (q.value !== text) return; // a later keystroke owns the counter
      tokenCount.dataset.for = text;
      tokenCount.dataset.tokens = String(c.tokens);
      tokenCount.classList.toggle('warn', c.isTruncated);
      tokenCount.textContent = `${c.tokens} tokens of ${c.maxTokens}` + (c.isTruncated ? ` — over the limit: the model reads only the first ${c.maxTokens} tokens, the rest is cut off` : '');
    } catch (err) {
      tokenCount.textContent = err instanceof ApiError ? `token count unavailable (${err.status})` : 'token count unavailable';
    }
  };
  q.addEventListener('input', () => void updateCount());
  collection.addEventListener('change', () => void updateCount());

  const setFacet = (name: 'labels' | 'journal', value: string) => {
    const target = name === 'labels' ? labels : journal;
    const values = new Set(target.value.split(',').map((x) => x.trim()).filter(Boolean));
    values.add(value);
    target.value = [...values].join(', ');
    void submit({ offset: 0 });
  };

  async function submit(change: Partial<SearchState>): Promise<void> {
    state = { ...current(), ...change };
    if (!state.like && q.value.trim() === '') { q.focus(); return; }
    const url = `${location.pathname}${writeState(state)}#search`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) history.pushState(null, '', url);
    await run();
  }

  async function run(): Promise<void> {
    if (state.like) fill(likeNote, 'Documents like ', h('code', {}, state.like), ' ', h('button', { type: 'button', class: 'link', id: 'clear-like', onclick: () => void submit({ like: '', offset: 0 }) }, 'search by text instead'));
    else fill(likeNote);
    if (!state.collection || (!state.like && state.query.trim() === '')) return;
    deps.clearError();
    performance.mark('biovec:search-start');
    summary.textContent = 'Searching…';
    list.setAttribute('aria-busy', 'true');
    try {
      const res = await postJson<SearchResponse>(`/v1/collections/${enc(state.collection)}/search`, searchBody(state));
      results = res.results;
      renderResults(res);
      performance.measure('biovec:first-result', 'biovec:search-start');
    } catch (err) {
      summary.textContent = 'The search failed.';
      deps.showError(err);
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  function renderResults(res: SearchResponse): void {
    const from = state.offset + 1;
    summary.textContent = res.results.length === 0 ? 'No results.' : `Results ${from}–${state.offset + res.results.length} (${res.took_ms.toFixed(0)} ms${res.mode ? `, ${res.mode}` : ''}${res.query_tokens !== undefined ? `, query ${res.query_tokens} tokens` : ''})`;
    const cards = res.results.map((hit, i) => hitCard(hit, state.offset + i + 1, { onMoreLikeThis: (id) => void submit({ like: id, offset: 0 }), onFacet: setFacet }));
    fill(list, ...cards.map((c) => h('li', {}, c.card)));
    const name = state.collection;
    // Cards show the best chunk at once; the full abstracts follow (time to first result stays one request).
    for (const [i, hit] of res.results.entries()) {
      getDocument(name, hit.id).then((doc) => { if (state.collection === name) cards[i]!.showDocument(doc); }, () => undefined);
    }
    fill(pager,
      h('button', { type: 'button', class: 'secondary', id: 'prev-page', disabled: state.offset === 0, onclick: () => void submit({ offset: Math.max(0, state.offset - state.k) }) }, 'Previous'),
      h('button', { type: 'button', class: 'secondary', id: 'next-page', disabled: res.results.length < state.k, onclick: () => void submit({ offset: state.offset + state.k }) }, 'Next'));
    renderFacets(res.results);
  }

  function renderFacets(hits: Hit[]): void {
    const count = (values: (string | undefined)[]) => {
      const m = new Map<string, number>();
      for (const v of values) if (v) m.set(v, (m.get(v) ?? 0) + 1);
      return [...m].sort((a, b) => b[1] - a[1]).slice(0, 12);
    };
    const group = (title: string, name: 'labels' | 'journal', entries: [string, number][]) => entries.length === 0 ? null
      : h('div', { class: 'facet' }, h('h3', {}, title), h('ul', {}, ...entries.map(([v, n]) => h('li', {}, h('button', { type: 'button', class: 'chip', onclick: () => setFacet(name, v) }, `${v} (${n})`)))));
    const years = hits.map((x) => x.metadata.year).filter((y): y is number => typeof y === 'number');
    fill(facets, h('h2', { id: 'facets-h' }, 'Refine'),
      group('Labels', 'labels', count(hits.flatMap((x) => x.labels))),
      group('Journals', 'journal', count(hits.map((x) => (typeof x.metadata.journal === 'string' ? x.metadata.journal : undefined)))),
      years.length > 0 ? h('p', { class: 'hint' }, `Years on this page: ${Math.min(...years)}–${Math.max(...years)}`) : null);
  }

  function exportResults(format: 'csv' | 'jsonl'): void {
    const rows = results.map((r, i) => ({ rank: state.offset + i + 1, id: r.id, score: r.score, title: r.title ?? '', authors: authorsOf(r.metadata) ?? '', journal: String(r.metadata.journal ?? ''), year: String(r.metadata.year ?? ''), labels: r.labels.join('|'), chunk_start: r.chunk.start, chunk_end: r.chunk.end }));
    const cell = (v: unknown) => { const s = String(v); return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
    const text = format === 'jsonl' ? rows.map((r) => JSON.stringify(r)).join('\n') + '\n'
      : [Object.keys(rows[0] ?? { rank: 0, id: '', score: 0 }).join(','), ...rows.map((r) => Object.values(r).map(cell).join(','))].join('\n') + '\n';
    saveBlob(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }), `search-results.${format}`);
  }

  async function exportCollection(): Promise<void> {
    const s = current();
    if (!s.collection) return;
    const p = exportParams(s);
    p.set('format', exportFormat.value);
    try {
      const res = await api(`/v1/collections/${enc(s.collection)}/export?${p}`);
      const ext = exportFormat.value === 'ids' ? 'ids.csv' : exportFormat.value;
      saveBlob(await res.blob(), `${s.collection}.${ext}`);
    } catch (err) {
      deps.showError(err);
    }
  }

  void (async () => {
    try {
      collections = await deps.collections();
    } catch (err) {
      deps.showError(err);
      return;
    }
    fill(collection, ...collections.map((c) => h('option', { value: c.name }, `${c.name} (${c.documents})`)));
    if (state.collection && collections.some((c) => c.name === state.collection)) collection.value = state.collection;
    state.collection = collection.value;
    void updateCount();
    await run();
  })();
}
