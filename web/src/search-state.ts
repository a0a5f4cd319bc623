/** What a search is, as it sits in the URL (so a search can be shared). */
export interface SearchState {
  collection: string;
  query: string;
  like: string;
  k: number;
  offset: number;
  yearFrom: string;
  yearTo: string;
  labels: string;
  journal: string;
  mesh: string;
  /** dense | lexical | hybrid, or '' for the server's default. */
  mode: string;
}

export const EMPTY: SearchState = { collection: '', query: '', like: '', k: 10, offset: 0, yearFrom: '', yearTo: '', labels: '', journal: '', mesh: '', mode: '' };

const KEYS: Record<keyof SearchState, string> = { collection: 'c', query: 'q', like: 'like', k: 'k', offset: 'offset', yearFrom: 'year_from', yearTo: 'year_to', labels: 'labels', journal: 'journal', mesh: 'mesh', mode: 'mode' };

export function readState(search: string): SearchState {
  const p = new URLSearchParams(search);
  const num = (v: string | null, d: number, max: number) => { const n = Number(v); return v !== null && Number.isInteger(n) && n >= 0 && n <= max ? n : d; };
  return {
    ...EMPTY,
    collection: p.get(KEYS.collection) ?? '', query: p.get(KEYS.query) ?? '', like: p.get(KEYS.like) ?? '',
    k: num(p.get(KEYS.k), 10, 1000) || 10, offset: num(p.get(KEYS.offset), 0, 10_000),
    yearFrom: p.get(KEYS.yearFrom) ?? '', yearTo: p.get(KEYS.yearTo) ?? '', labels: p.get(KEYS.labels) ?? '', journal: p.get(KEYS.journal) ?? '', mesh: p.get(KEYS.mesh) ?? '',
    mode: ['dense', 'lexical', 'hybrid'].includes(p.get(KEYS.mode) ?? '') ? p.get(KEYS.mode)! : '',
  };
}

export function writeState(s: SearchState): string {
  const p = new URLSearchParams();
  for (const [field, key] of Object.entries(KEYS) as [keyof SearchState, string][]) {
    const v = s[field];
    if (v === '' || (field === 'k' && v === 10) || (field === 'offset' && v === 0)) continue;
    p.set(key, String(v));
  }
  const q = p.toString();
  return q ? `?${q}` : '';
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** The POST …/search body for a state. */
export function searchBody(s: SearchState): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const year: Record<string, number> = {};
  if (s.yearFrom.trim() !== '' && Number.isInteger(Number(s.yearFrom))) year.gte = Number(s.yearFrom);
  if (s.yearTo.trim() !== '' && Number.isInteger(Number(s.yearTo))) year.lte = Number(s.yearTo);
  if (Object.keys(year).length > 0) filter.year = year;
  if (list(s.labels).length > 0) filter.labels = list(s.labels);
  const metadata: Record<string, string[]> = {};
  if (list(s.journal).length > 0) metadata.journal = list(s.journal);
  if (list(s.mesh).length > 0) metadata.mesh = list(s.mesh);
  if (Object.keys(metadata).length > 0) filter.metadata = metadata;
  return {
    // A like search is dense only (lexical and hybrid need text).
    ...(s.like ? { like: s.like } : { query: s.query, ...(s.mode ? { mode: s.mode } : {}) }),
    k: s.k, offset: s.offset,
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
  };
}

/** The export endpoint's filter parameters for the same state (labels and years; it has no metadata filter). */
export function exportParams(s: SearchState): URLSearchParams {
  const p = new URLSearchParams();
  if (list(s.labels).length > 0) p.set('labels', list(s.labels).join(','));
  if (s.yearFrom.trim() !== '') p.set('year_gte', s.yearFrom.trim());
  if (s.yearTo.trim() !== '') p.set('year_lte', s.yearTo.trim());
  return p;
}
