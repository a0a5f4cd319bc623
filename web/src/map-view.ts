import { apiJson, enc, getDocument, type Collection } from './api.js';
import { fill, h, svg } from './dom.js';

interface MapPoint { id: string; x: number; y: number; title: string | null; group: string | null }
interface CollectionMap {
  method: string;
  documents: number;
  sampled: number;
  explained_variance: number[];
  groups: { name: string; count: number }[];
  points: MapPoint[];
  cached: boolean;
}

export interface MapViewDeps {
  collections(): Promise<Collection[]>;
  showError(err: unknown): void;
  clearError(): void;
  moreLikeThis(collection: string, id: string): void;
}

// Tableau 10: distinguishable, and each holds 3:1 contrast against the white plot area.
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const OTHER = '#6b6b6b';
const W = 720;
const H = 520;
const PAD = 16;

/** The embedding map: a server-side PCA projection, coloured by a label field; hover for the title, click to open. */
export function renderMapView(root: HTMLElement, deps: MapViewDeps): void {
  const collection = h('select', { id: 'map-collection' });
  const colorBy = h('input', { id: 'map-color-by', value: 'labels', list: 'map-fields', autocomplete: 'off', pattern: '[A-Za-z0-9_.\\-]{1,128}' });
  const sample = h('input', { id: 'map-sample', type: 'number', min: 1, max: 5000, value: 2000 });
  const plot = h('div', { id: 'map-plot' });
  const legend = h('ul', { id: 'map-legend', class: 'legend', 'aria-label': 'Colour key' });
  const info = h('p', { id: 'map-info', 'aria-live': 'polite' });
  const hover = h('p', { id: 'map-hover', class: 'hint', 'aria-live': 'polite' }, 'Hover over a point for its title; click it to open the document (or focus the map and use the arrow keys and Enter).');
  const panel = h('section', { id: 'map-document', 'aria-labelledby': 'map-doc-h', hidden: true });
  const field = (id: string, label: string, input: HTMLElement) => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  fill(root,
    h('h1', {}, 'Embedding map'),
    h('p', { class: 'hint' }, 'Each point is a document, placed by a PCA projection of its vector (first chunk) computed on the server; colours follow a label field. Do the classes separate?'),
    h('form', { id: 'map-form', 'aria-label': 'Map settings', onsubmit: (e) => { e.preventDefault(); void draw(); } },
      h('div', { class: 'row wrap' },
        field('map-collection', 'Collection', collection), field('map-color-by', 'Colour by (labels or a metadata key)', colorBy), field('map-sample', 'Documents at most', sample),
        h('datalist', { id: 'map-fields' }, ...['labels', 'journal', 'year', 'mesh', 'publication_types'].map((v) => h('option', { value: v }))),
        h('button', { type: 'submit', id: 'map-draw' }, 'Draw map'))),
    info, h('div', { class: 'map-layout' }, plot, legend), hover, panel);

  async function draw(): Promise<void> {
    deps.clearError();
    info.textContent = 'Projecting…';
    try {
      const m = await apiJson<CollectionMap>(`/v1/collections/${enc(collection.value)}/map?sample=${enc(sample.value || '2000')}&color_by=${enc(colorBy.value || 'labels')}`);
      render(m, collection.value);
    } catch (err) {
      info.textContent = 'No map.';
      deps.showError(err);
    }
  }

  function render(m: CollectionMap, name: string): void {
    const colour = new Map(m.groups.slice(0, PALETTE.length).map((g, i) => [g.name, PALETTE[i]!]));
    const xs = m.points.map((p) => p.x);
    const ys = m.points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => PAD + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * PAD);
    const sy = (y: number) => H - PAD - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * PAD);
    const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
    // Keyboard: the map takes focus; arrows step through the points left to right, Enter opens one.
    const order = m.points.map((p, i) => ({ p, i })).sort((a, b) => a.p.x - b.p.x || a.p.y - b.p.y);
    let at = -1;
    const select = (k: number) => {
      at = (k + order.length) % order.length;
      const { p, i } = order[at]!;
      chart.querySelector('.point.selected')?.classList.remove('selected');
      chart.querySelectorAll('.point')[i]?.classList.add('selected');
      hover.textContent = `${p.title ?? p.id}${p.group !== null ? ` — ${p.group}` : ''} (point ${at + 1} of ${order.length}; Enter opens it)`;
    };
    const chart = svg('svg', {
      viewBox: `0 0 ${W} ${H}`, role: 'group', tabindex: 0, 'aria-label': `Map of ${m.sampled} documents of ${name}, coloured by ${colorBy.value}; arrow keys step through the points, Enter opens one`, 'aria-describedby': 'map-hover', class: 'map',
      onkeydown: (e) => {
        const key = (e as KeyboardEvent).key;
        if (order.length === 0) return;
        if (key === 'ArrowRight' || key === 'ArrowDown') select(at + 1);
        else if (key === 'ArrowLeft' || key === 'ArrowUp') select(at - 1);
        else if (key === 'Enter' && at >= 0) void open(name, order[at]!.p.id);
        else return;
        e.preventDefault();
      },
    },
      svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#ffffff', stroke: '#8a8a8a' }),
      ...m.points.map((p) => svg('circle', {
        cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 4, fill: (p.group !== null && colour.get(p.group)) || OTHER, 'fill-opacity': 0.8, stroke: '#222', 'stroke-width': 0.3,
        class: 'point', 'data-id': p.id, 'data-group': p.group ?? '',
        onmouseenter: () => { hover.textContent = `${p.title ?? p.id}${p.group !== null ? ` — ${p.group}` : ''}`; },
        onclick: (e) => {
          chart.querySelector('.point.selected')?.classList.remove('selected');
          (e.currentTarget as Element).classList.add('selected');
          void open(name, p.id);
        },
      }, svg('title', {}, p.title ?? p.id))));
    fill(plot, chart);
    fill(legend, ...m.groups.slice(0, PALETTE.length).map((g) => h('li', {}, h('span', { class: 'swatch', 'data-colour': colour.get(g.name) }), `${g.name} (${g.count})`)),
      m.groups.length > PALETTE.length || m.points.some((p) => p.group === null) ? h('li', {}, h('span', { class: 'swatch', 'data-colour': OTHER }), 'other / none') : null);
    // Swatch colours through the CSSOM: the page's CSP forbids style attributes, not this.
    for (const s of legend.querySelectorAll<HTMLElement>('.swatch')) s.style.backgroundColor = s.dataset.colour ?? OTHER;
    info.textContent = `${m.sampled} of ${m.documents} documents, ${m.method.toUpperCase()} (x ${pct(m.explained_variance[0])}, y ${pct(m.explained_variance[1])} of the variance)${m.cached ? ', from the cache' : ''}.`;
    plot.dataset.points = String(m.points.length);
  }

  async function open(name: string, id: string): Promise<void> {
    try {
      const doc = await getDocument(name, id);
      panel.hidden = false;
      fill(panel, h('h2', { id: 'map-doc-h' }, doc.title ?? doc.id),
        h('p', { class: 'ids' }, h('span', { class: 'docid' }, doc.id), ...doc.labels.map((l) => h('span', { class: 'chip' }, l))),
        h('p', { class: 'abstract' }, doc.text.length > 2000 ? `${doc.text.slice(0, 2000)}…` : doc.text),
        h('button', { type: 'button', id: 'map-more-like-this', onclick: () => deps.moreLikeThis(name, id) }, 'More like this'));
      panel.querySelector('h2')?.setAttribute('tabindex', '-1');
      (panel.querySelector('h2') as HTMLElement | null)?.focus();
    } catch (err) {
      deps.showError(err);
    }
  }

  void (async () => {
    try {
      const list = await deps.collections();
      fill(collection, ...list.map((c) => h('option', { value: c.name }, `${c.name} (${c.documents})`)));
      const wanted = new URLSearchParams(location.search).get('c');
      if (wanted && list.some((c) => c.name === wanted)) collection.value = wanted;
    } catch (err) {
      deps.showError(err);
    }
  })();
}
