// Shared by the web app's browser tests and scripts/bench-webapp.ts: the built app, real
// biomedical text (SciFact abstracts, ChemProt sentences from ../shared), and a Chromium that
// can reach nothing but the served biovec.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';
import { REPO_ROOT } from '../../scripts/lib/served-biovec.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SHARED_DATA = join(process.env.BIOVEC_SHARED_DIR ?? join(REPO_ROOT, '..', 'shared'), 'data');
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'web');

/** Why the browser tests cannot run here, or undefined. */
export function missingForBrowserTests(): string | undefined {
  if (!existsSync(CHROMIUM)) return `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
  if (!existsSync(join(SHARED_DATA, 'scifact', 'corpus.jsonl.gz')) || !existsSync(join(SHARED_DATA, 'chemprot', 'train.txt'))) return `needs ../shared/data (SciFact and ChemProt), absent at ${SHARED_DATA}`;
  return undefined;
}

const newest = (dir: string): number => readdirSync(dir, { withFileTypes: true })
  .reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);

/** Builds the web app (npm run build:web) unless dist/web is newer than every file under web/. */
export function ensureWebBuilt(): void {
  const index = join(REPO_ROOT, 'dist', 'web', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(REPO_ROOT, 'web'))) return;
  const built = spawnSync('npm', ['run', '-s', 'build:web'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build:web failed:\n${built.stdout}\n${built.stderr}`);
}

export interface ScifactDoc { id: string; title?: string; text: string; labels: string[]; metadata: Record<string, unknown> }

const JOURNALS = ['Nature Medicine', 'The Lancet', 'Cell', 'BMJ'];

/**
 * SciFact abstracts with their real labels (SUPPORT / CONTRADICT where a claim cites the
 * abstract as evidence). SciFact has no bibliographic metadata, so a year and a journal are
 * derived from the id (deterministic) for the filters to act on.
 */
export function scifactDocs(opts: { from?: number; count: number }): ScifactDoc[] {
  const labels = new Map<string, Set<string>>();
  for (const line of readFileSync(join(SHARED_DATA, 'scifact', 'queries.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { metadata?: Record<string, { label: string }[]> };
    for (const [doc, evidence] of Object.entries(q.metadata ?? {})) for (const e of evidence) (labels.get(doc) ?? labels.set(doc, new Set()).get(doc)!).add(e.label);
  }
  const lines = gunzipSync(readFileSync(join(SHARED_DATA, 'scifact', 'corpus.jsonl.gz'))).toString('utf8').split('\n').filter((l) => l.trim());
  const from = opts.from ?? 0;
  return lines.slice(from, from + opts.count).map((line) => {
    const d = JSON.parse(line) as { _id: string; title: string; text: string };
    const n = Number(d._id) || 0;
    return { id: d._id, title: d.title, text: d.text, labels: [...(labels.get(d._id) ?? [])], metadata: { year: 1990 + (n % 30), journal: JOURNALS[n % JOURNALS.length]! } };
  });
}

export const scifactQueries = (count: number): string[] => readFileSync(join(SHARED_DATA, 'scifact', 'queries.jsonl'), 'utf8')
  .split('\n').filter((l) => l.trim()).slice(0, count).map((l) => (JSON.parse(l) as { text: string }).text);

/** ChemProt relation sentences with their relation label (real labels, for the map's colours). */
export function chemprotDocs(count: number): ScifactDoc[] {
  return readFileSync(join(SHARED_DATA, 'chemprot', 'train.txt'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, count).map((line, i) => {
    const r = JSON.parse(line) as { text: string; label: string };
    return { id: `chemprot-${i}`, text: r.text, labels: [r.label], metadata: {} };
  });
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A PubMed XML file of SciFact abstracts (id as PMID), plus `bad` articles without a PMID (error records). */
export function pubmedXml(docs: ScifactDoc[], bad = 0): string {
  const article = (d: ScifactDoc) => `<PubmedArticle><MedlineCitation><PMID>${xml(d.id)}</PMID><Article><Journal><JournalIssue><PubDate><Year>${d.metadata.year}</Year></PubDate></JournalIssue><Title>${xml(String(d.metadata.journal))}</Title></Journal><ArticleTitle>${xml(d.title ?? '')}</ArticleTitle><Abstract><AbstractText>${xml(d.text)}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>`;
  const broken = '<PubmedArticle><MedlineCitation><Article><ArticleTitle>No PMID here</ArticleTitle></Article></MedlineCitation></PubmedArticle>';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n${docs.map(article).join('\n')}\n${Array.from({ length: bad }, () => broken).join('\n')}\n</PubmedArticleSet>\n`;
}

/** Chromium with the flags this closed network needs (see test/docs-browser.test.ts), downloads accepted. */
export async function launchChromium(): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'biovec-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** POSTs documents in batches (the API caps a request's documents). */
export async function seedDocuments(url: string, token: string, collection: string, docs: ScifactDoc[]): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  await fetch(`${url}/v1/collections`, { method: 'POST', headers, body: JSON.stringify({ name: collection }) });
  for (let i = 0; i < docs.length; i += 100) {
    const res = await fetch(`${url}/v1/collections/${collection}/documents`, { method: 'POST', headers, body: JSON.stringify(docs.slice(i, i + 100)) });
    if (!res.ok) throw new Error(`seeding ${collection}: ${res.status} ${await res.text()}`);
  }
  await waitForIndex(url, token);
}

/** Until the outbox is applied: search reads the vector index, which the outbox worker fills. */
export async function waitForIndex(url: string, token: string): Promise<void> {
  for (;;) {
    const res = await fetch(`${url}/v1/outbox`, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok && ((await res.json()) as { backlog: number }).backlog === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
