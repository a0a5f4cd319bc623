import { api, apiJson, enc, postJson, type Collection } from './api.js';
import { fill, h } from './dom.js';

interface Job {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  done: number;
  failed: number;
  total: number | null;
  progress: number;
  rate_per_s: number | null;
  eta_s: number | null;
  errors: { record: number; detail: string }[];
  error?: string;
}

export interface CollectionsViewDeps {
  collections(refresh?: boolean): Promise<Collection[]>;
  showError(err: unknown): void;
  clearError(): void;
}

const FORMAT_OF: Record<string, string> = { ndjson: 'ndjson', jsonl: 'ndjson', json: 'ndjson', csv: 'csv', tsv: 'csv', xml: 'pubmed', gz: 'pubmed' };

/** Collections with counts, model binding and outbox lag; create; upload a file as an import job with live progress. */
export function renderCollectionsView(root: HTMLElement, deps: CollectionsViewDeps): void {
  const tbody = h('tbody');
  const lag = h('p', { id: 'outbox-lag', class: 'hint' });
  const name = h('input', { id: 'new-name', name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,62}', autocomplete: 'off' });
  const distance = h('select', { id: 'new-distance' }, ...['cosine', 'dot', 'euclid'].map((d) => h('option', { value: d }, d)));
  const target = h('select', { id: 'upload-collection' });
  const file = h('input', { id: 'upload-file', type: 'file', accept: '.ndjson,.jsonl,.csv,.tsv,.xml,.gz', required: true });
  const format = h('select', { id: 'upload-format' }, h('option', { value: '' }, 'from the file name'), h('option', { value: 'ndjson' }, 'NDJSON'), h('option', { value: 'csv' }, 'CSV'), h('option', { value: 'pubmed' }, 'PubMed XML'));
  const idField = h('input', { id: 'upload-id-field', autocomplete: 'off', placeholder: 'id' });
  const textField = h('input', { id: 'upload-text-field', autocomplete: 'off', placeholder: 'text' });
  const jobPanel = h('section', { id: 'job', 'aria-labelledby': 'job-h', hidden: true });

  const field = (id: string, label: string, input: HTMLElement) => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  fill(root,
    h('h1', {}, 'Collections'),
    h('table', { id: 'collections-table' },
      h('caption', {}, 'Collections on this server'),
      h('thead', {}, h('tr', {}, ...['Name', 'Documents', 'Model', 'Dims', 'Max tokens', 'Pooling', 'Distance', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody),
    lag,
    h('div', { class: 'columns' },
      h('form', { id: 'create-form', 'aria-labelledby': 'create-h', onsubmit: (e) => { e.preventDefault(); void create(); } },
        h('h2', { id: 'create-h' }, 'New collection'),
        field('new-name', 'Name', name), field('new-distance', 'Distance', distance),
        h('button', { type: 'submit' }, 'Create')),
      h('form', { id: 'upload-form', 'aria-labelledby': 'upload-h', onsubmit: (e) => { e.preventDefault(); void upload(); } },
        h('h2', { id: 'upload-h' }, 'Import a file'),
        field('upload-collection', 'Into collection', target), field('upload-file', 'File (NDJSON, CSV, PubMed XML; .gz fine)', file), field('upload-format', 'Format', format),
        h('div', { class: 'row wrap' }, field('upload-id-field', 'CSV id column', idField), field('upload-text-field', 'CSV text column', textField)),
        h('button', { type: 'submit', id: 'upload-button' }, 'Upload and import'))),
    jobPanel);

  async function refresh(): Promise<void> {
    try {
      const list = await deps.collections(true);
      fill(tbody, ...list.map((c) => h('tr', {}, h('th', { scope: 'row' }, c.name), h('td', { class: 'num' }, c.documents), h('td', {}, c.model.id + (c.model.revision ? `@${c.model.revision.slice(0, 8)}` : '')), h('td', { class: 'num' }, c.model.dims), h('td', { class: 'num' }, c.model.max_tokens), h('td', {}, c.model.pooling), h('td', {}, c.distance), h('td', {}, new Date(c.created_at).toLocaleString()))));
      const keep = target.value;
      fill(target, ...list.map((c) => h('option', { value: c.name }, c.name)));
      if (list.some((c) => c.name === keep)) target.value = keep;
      const o = await apiJson<{ backlog: number; lag_s: number }>('/v1/outbox');
      lag.textContent = o.backlog === 0 ? 'Vector index up to date (outbox empty).' : `Outbox: ${o.backlog} changes not yet in the vector index, oldest ${o.lag_s} s old.`;
    } catch (err) {
      deps.showError(err);
    }
  }

  async function create(): Promise<void> {
    deps.clearError();
    try {
      await postJson('/v1/collections', { name: name.value, distance: distance.value });
      target.value = name.value;
      const created = name.value;
      await refresh();
      target.value = created;
      name.value = '';
    } catch (err) {
      deps.showError(err);
    }
  }

  async function upload(): Promise<void> {
    const f = file.files?.[0];
    if (!f) return;
    deps.clearError();
    const fmt = format.value || FORMAT_OF[f.name.split('.').filter((p) => p !== 'gz').at(-1)?.toLowerCase() ?? ''] || FORMAT_OF[f.name.split('.').at(-1) ?? ''] || '';
    const p = new URLSearchParams();
    if (fmt) p.set('format', fmt);
    if (idField.value) p.set('id_field', idField.value);
    if (textField.value) p.set('text_field', textField.value);
    try {
      const res = await api(`/v1/collections/${enc(target.value)}/imports?${p}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: f });
      const job = (await res.json()) as Job;
      void follow(job, f.name);
    } catch (err) {
      deps.showError(err);
    }
  }

  async function follow(first: Job, fileName: string): Promise<void> {
    const bar = h('progress', { id: 'job-progress', max: 1, value: 0, 'aria-labelledby': 'job-h' });
    const line = h('p', { id: 'job-status', 'aria-live': 'polite' });
    const errors = h('ol', { id: 'job-errors' });
    const cancel = h('button', { type: 'button', id: 'job-cancel', class: 'secondary', onclick: () => void api(`/v1/jobs/${enc(first.id)}`, { method: 'DELETE' }).catch(deps.showError) }, 'Cancel import');
    jobPanel.hidden = false;
    fill(jobPanel, h('h2', { id: 'job-h' }, `Import of ${fileName}`), bar, line, cancel, h('h3', {}, 'Records refused'), errors);
    let job = first;
    for (;;) {
      bar.value = job.progress;
      bar.dataset.status = job.status;
      const rate = job.rate_per_s !== null ? `, ${job.rate_per_s.toFixed(1)} records/s` : '';
      const eta = job.eta_s !== null && job.status === 'running' ? `, about ${Math.ceil(job.eta_s)} s left` : '';
      line.textContent = `${job.status}: ${job.done} imported, ${job.failed} refused${job.total !== null ? ` of ${job.total} records` : ''} (${Math.round(job.progress * 100)}%${rate}${eta})${job.error ? ` — ${job.error}` : ''}`;
      fill(errors, ...(job.errors.length === 0 ? [h('li', {}, 'none')] : job.errors.slice(0, 100).map((e) => h('li', {}, `record ${e.record}: ${e.detail}`))));
      if (job.status !== 'queued' && job.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 400));
      try {
        job = await apiJson<Job>(`/v1/jobs/${enc(first.id)}`);
      } catch (err) {
        deps.showError(err);
        return;
      }
    }
    cancel.disabled = true;
    await refresh();
  }

  void refresh();
}
