// Issue 13: the literature-search web app at / in a real browser (Debian's chromium through
// playwright-core) against a served biovec with keys required, on the tiny fixture model and
// real text (SciFact abstracts, ChemProt sentences, a PubMed XML upload made of SciFact), with
// every request off the server's own origin blocked. Screenshots go to test-artifacts/web/.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedBiovec, type ServedBiovec } from '../../scripts/lib/served-biovec.js';
import { ARTIFACTS, chemprotDocs, ensureWebBuilt, launchChromium, missingForBrowserTests, pubmedXml, scifactDocs, seedDocuments } from './web-fixtures.js';

const missing = missingForBrowserTests();
if (missing) console.warn(`skipping the web app browser tests: ${missing}`);

const AXE_SOURCE = missing ? '' : readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCIFACT = missing ? [] : scifactDocs({ count: 200 });
const CHEMPROT = missing ? [] : chemprotDocs(300);

describe.skipIf(missing !== undefined)('the web app in a browser, offline', () => {
  let served: ServedBiovec;
  let context: BrowserContext;
  let readToken: string;
  let limitedToken: string;
  const blocked: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    served = await startServedBiovec({ extraKeys: [{ scope: 'read' }, { scope: 'read', rateLimitPerMinute: 3 }] });
    [readToken, limitedToken] = served.extraTokens as [string, string];
    await seedDocuments(served.url, served.token, 'scifact', SCIFACT);
    await seedDocuments(served.url, served.token, 'chemprot', CHEMPROT);
    context = await launchChromium();
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${served.url}/`) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
  }, 600_000);

  afterAll(async () => {
    await context?.close();
    await served?.stop();
  });

  /** A page whose tab already holds the admin key (the key flow has its own test). */
  async function keyedPage(token = served.token): Promise<Page> {
    const page = await context.newPage();
    await page.addInitScript({ content: `sessionStorage.setItem('biovec.apiKey', ${JSON.stringify(token)})` });
    return page;
  }

  async function expectAccessible(page: Page, what: string): Promise<void> {
    await page.evaluate(`${AXE_SOURCE}\n;0`);
    const result = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
      return axe.run({ resultTypes: ['violations'] });
    });
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    expect(serious, `axe on ${what}`).toEqual([]);
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function tokenizeCount(text: string): Promise<number> {
    const res = await fetch(`${served.url}/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: text }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as unknown[][])[0]!.length;
  }

  it('asks for a key, and shows 401, 403 and 429 plainly', async () => {
    const page = await context.newPage();
    await page.goto(`${served.url}/`);
    const dialog = page.locator('#key-dialog');
    await dialog.waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#key-reason').innerText()).toContain('401');
    await shot(page, '01-key-dialog');

    await page.fill('#key-input', 'bv_not_a_real_key');
    await page.click('#key-form button[value="save"]');
    await expect.poll(() => page.locator('#key-reason').innerText()).toMatch(/401 .*not valid/);
    await page.fill('#key-input', readToken);
    await page.click('#key-form button[value="save"]');
    await expect.poll(() => page.locator('#collection option').count()).toBeGreaterThanOrEqual(2);
    expect(await page.evaluate("sessionStorage.getItem('biovec.apiKey')")).toBe(readToken);

    // A read key cannot create a collection: 403, named as such.
    await page.click('nav a[data-view="collections"]');
    await page.fill('#new-name', 'not-allowed');
    await page.click('#create-form button[type="submit"]');
    await expect.poll(() => page.locator('#status').innerText()).toMatch(/^403 .*needs the write scope/);
    await page.click('#key-form button[value="cancel"]');
    await shot(page, '02-forbidden');

    // A key over its rate limit: 429 with the wait.
    await page.click('#key-button');
    await page.fill('#key-input', limitedToken);
    await page.click('#key-form button[value="save"]');
    for (let i = 0; i < 4 && !(await page.locator('#status').innerText()).startsWith('429'); i++) await page.click('nav a[data-view="collections"]').then(() => page.click('nav a[data-view="search"]'));
    await expect.poll(() => page.locator('#status').innerText()).toMatch(/^429 .*over its limit.*Retry in \d+ s/);
    await page.close();
  });

  it('searches, highlights the best chunk in the abstract, finds more like this, filters and exports', async () => {
    const page = await keyedPage();
    await page.goto(`${served.url}/?c=scifact#search`);
    await expect.poll(() => page.locator('#collection').inputValue()).toBe('scifact');
    const target = SCIFACT[0]!;
    // Keyboard-first: "/" jumps to the box from anywhere, Enter searches.
    await page.locator('h2#results-h').click();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('q');
    await page.keyboard.type(target.title!);
    await page.keyboard.press('Enter');
    const first = page.locator('.hit').first();
    await first.waitFor();
    expect(new URL(page.url()).searchParams.get('q')).toBe(target.title);
    expect(await page.locator('.hit').count()).toBe(10);

    // The best chunk is marked inside the full abstract (fetched after the cards), at its offsets.
    const mark = first.locator('.abstract mark.best-chunk');
    await expect.poll(async () => (await first.locator('.abstract').innerText()).length).toBeGreaterThan((await mark.innerText()).length);
    expect(await mark.isVisible()).toBe(true);
    const firstId = (await first.getAttribute('data-id'))!;
    const doc = SCIFACT.find((d) => d.id === firstId)!;
    expect(doc.text).toContain((await mark.innerText()).trim());
    await shot(page, '03-search-results');
    await expectAccessible(page, 'search results');

    // Paging: the next page is other documents, and the URL says where.
    const pageOne = await page.locator('.hit').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-id')));
    await page.click('#next-page');
    await expect.poll(() => new URL(page.url()).searchParams.get('offset')).toBe('10');
    await expect.poll(() => page.locator('#result-summary').innerText()).toMatch(/^Results 11–20/);
    const pageTwo = await page.locator('.hit').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-id')));
    expect(pageTwo.filter((id) => pageOne.includes(id))).toEqual([]);
    // The URL is the search: opened afresh, it runs again.
    const shared = await context.newPage();
    await shared.addInitScript({ content: `sessionStorage.setItem('biovec.apiKey', ${JSON.stringify(served.token)})` });
    await shared.goto(page.url());
    await expect.poll(() => shared.locator('.hit').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-id')))).toEqual(pageTwo);
    expect(await shared.locator('#q').inputValue()).toBe(target.title);
    await shared.close();
    await page.click('#prev-page');
    await expect.poll(() => page.locator('.hit').first().getAttribute('data-id')).toBe(pageOne[0]);

    // More like this: the document itself is left out, the URL says `like`.
    await first.locator('button.more-like-this').click();
    await page.locator('#like-note code').waitFor();
    await expect.poll(() => new URL(page.url()).searchParams.get('like')).toBe(firstId);
    await expect.poll(() => page.locator('.hit').first().getAttribute('data-id')).not.toBe(firstId);
    expect(await page.locator(`.hit[data-id="${firstId}"]`).count()).toBe(0);
    await shot(page, '04-more-like-this');

    // Back to text, filtered to a decade: every card's year is in it.
    await page.click('#clear-like');
    await page.fill('#year-from', '2000');
    await page.fill('#year-to', '2009');
    await page.press('#year-to', 'Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('year_to')).toBe('2009');
    await expect.poll(async () => (await page.locator('.hit .year').allInnerTexts()).every((y) => Number(y) >= 2000 && Number(y) <= 2009)).toBe(true);
    expect(await page.locator('.hit').count()).toBeGreaterThan(0);
    // A journal facet narrows further.
    const journal = (await page.locator('.hit .journal').first().innerText()).trim();
    await page.locator('.hit .journal').first().click();
    await expect.poll(async () => new Set(await page.locator('.hit .journal').allInnerTexts()).size).toBe(1);
    expect((await page.locator('.hit .journal').first().innerText()).trim()).toBe(journal);
    await shot(page, '05-filtered');

    // Export: the results shown, then the collection's vectors with the same year filter.
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-results-csv')]);
    const csvText = readFileSync((await csv.path())!, 'utf8');
    const shown = await page.locator('.hit').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-id')));
    expect(csvText.split('\n')[0]).toBe('rank,id,score,title,authors,journal,year,labels,chunk_start,chunk_end');
    for (const id of shown) expect(csvText).toContain(`,${id},`);
    await page.selectOption('#export-format', 'jsonl');
    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.click('#export-collection')]);
    expect(jsonl.suggestedFilename()).toBe('scifact.jsonl');
    const rows = readFileSync((await jsonl.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { metadata: { year: number } });
    expect(rows.length).toBe(SCIFACT.filter((d) => (d.metadata.year as number) >= 2000 && (d.metadata.year as number) <= 2009).length);
    // Every export format comes down, named for the collection.
    for (const [format, name] of [['csv', 'scifact.csv'], ['npy', 'scifact.npy'], ['ids', 'scifact.ids.csv'], ['parquet', 'scifact.parquet']] as const) {
      await page.selectOption('#export-format', format);
      const [file] = await Promise.all([page.waitForEvent('download'), page.click('#export-collection')]);
      expect(file.suggestedFilename()).toBe(name);
      expect(readFileSync((await file.path())!).byteLength, format).toBeGreaterThan(100);
    }
    await page.close();
  });

  it('counts query tokens in the browser exactly as POST /tokenize does', async () => {
    const page = await keyedPage();
    await page.goto(`${served.url}/?c=scifact#search`);
    await expect.poll(() => page.locator('#collection').inputValue()).toBe('scifact');
    const strings = [
      'aspirin and platelet aggregation',
      'β-amyloid (Aβ42) oligomers impair hippocampal LTP in APP/PS1 mice',
      'IL-6 → JAK2/STAT3 signalling; TNF-α ≥ 10 ng/mL 🧬🦠',
      '乳腺癌 BRCA1/2 突变 and naïve CD4⁺ T‑cells',
      'café\u0301 vs café, ﬁbrosis, x²+y², Ω-3',
      '  leading and trailing   spaces\tand\ttabs  ',
      SCIFACT[1]!.text,
    ];
    for (const s of strings) {
      await page.fill('#q', s);
      await page.waitForFunction((text) => (globalThis as unknown as { document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null } }).document.getElementById('token-count')?.dataset.for === text, s);
      const browser = Number(await page.locator('#token-count').getAttribute('data-tokens'));
      expect(browser, s.slice(0, 40)).toBe(await tokenizeCount(s));
    }
    // The last is a whole abstract, past the tiny model's 128 tokens: the counter says so.
    await expect.poll(() => page.locator('#token-count').innerText()).toContain('over the limit');
    expect(await page.locator('#token-count.warn').count()).toBe(1);
    await shot(page, '06-token-counter');
    await page.close();
  });

  it('imports an uploaded PubMed XML file with live progress to completion, listing the refused record, and cancels another', async () => {
    const page = await keyedPage();
    await page.goto(`${served.url}/#collections`);
    await page.locator('#collections-table tbody tr').first().waitFor();
    await expectAccessible(page, 'collections');
    await page.fill('#new-name', 'uploads');
    await page.click('#create-form button[type="submit"]');
    await expect.poll(() => page.locator('#upload-collection').inputValue()).toBe('uploads');
    const docs = scifactDocs({ from: 200, count: 120 });
    await page.setInputFiles('#upload-file', { name: 'scifact-pubmed.xml', mimeType: 'application/xml', buffer: Buffer.from(pubmedXml(docs, 1)) });
    await page.click('#upload-button');
    const bar = page.locator('#job-progress');
    await bar.waitFor();
    const seen = new Set<string>();
    for (;;) {
      const status = await bar.getAttribute('data-status');
      seen.add(status ?? '');
      if (status !== 'queued' && status !== 'running') break;
      await page.waitForTimeout(100);
    }
    // Live: the bar was drawn while the job was still queued or running, then followed it to the end.
    expect([...seen].some((st) => st === 'queued' || st === 'running'), [...seen].join()).toBe(true);
    expect(await bar.getAttribute('data-status')).toBe('completed');
    expect(Number(await bar.evaluate((b) => (b as unknown as { value: number }).value))).toBe(1);
    expect(await page.locator('#job-status').innerText()).toMatch(/^completed: 120 imported, 1 refused of 121 records \(100%, [\d.]+ records\/s\)/);
    expect(await page.locator('#job-errors li').allInnerTexts()).toEqual(['record 121: article has no MedlineCitation/PMID']);
    await expect.poll(() => page.locator('#collections-table tbody tr', { hasText: 'uploads' }).locator('td').first().innerText()).toBe('120');
    await expect.poll(() => page.locator('#outbox-lag').innerText()).toMatch(/outbox/i);
    await shot(page, '07-import-done');

    // A big file, cancelled from the page at once: the job stops at a batch boundary.
    await page.setInputFiles('#upload-file', { name: 'big.xml', mimeType: 'application/xml', buffer: Buffer.from(pubmedXml(scifactDocs({ from: 400, count: 2500 }))) });
    await page.click('#upload-button');
    await expect.poll(() => page.locator('#job-h').innerText()).toBe('Import of big.xml');
    await page.click('#job-cancel');
    await expect.poll(() => page.locator('#job-progress').getAttribute('data-status'), { timeout: 120_000 }).toBe('cancelled');
    expect(await page.locator('#job-status').innerText()).toMatch(/^cancelled: \d+ imported/);
    expect(await page.locator('#job-cancel').isDisabled()).toBe(true);
    await page.close();
  });

  it('draws the embedding map with a point per document coloured by label, and a click opens the document', async () => {
    const page = await keyedPage();
    await page.goto(`${served.url}/?c=chemprot#map`);
    await expect.poll(() => page.locator('#map-collection').inputValue()).toBe('chemprot');
    await page.click('#map-draw');
    await expect.poll(() => page.locator('svg.map circle.point').count()).toBe(CHEMPROT.length);
    const labels = new Set(CHEMPROT.map((d) => d.labels[0]!));
    const legend = await page.locator('#map-legend li').allInnerTexts();
    expect(legend.some((l) => l.startsWith('INHIBITOR ('))).toBe(true);
    const groups = new Set(await page.locator('svg.map circle.point').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-group'))));
    expect(groups).toEqual(labels);
    expect(await page.locator('#map-info').innerText()).toMatch(new RegExp(`^${CHEMPROT.length} of ${CHEMPROT.length} documents, PCA`));
    await shot(page, '08-map');
    await expectAccessible(page, 'map');

    const point = page.locator('svg.map circle.point').nth(7);
    const id = (await point.getAttribute('data-id'))!;
    await point.dispatchEvent('click');
    await page.locator('#map-document').waitFor();
    expect(await page.locator('#map-document .abstract').innerText()).toBe(CHEMPROT.find((d) => d.id === id)!.text);
    await shot(page, '09-map-document');
    // From the keyboard: focus the map, step to a point, Enter opens it.
    await page.locator('svg.map').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const stepped = (await page.locator('svg.map circle.point.selected').getAttribute('data-id'))!;
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#map-document .docid').innerText()).toBe(stepped);
    await page.click('#map-more-like-this');
    await page.locator('.hit').first().waitFor();
    expect(new URL(page.url()).searchParams.get('like')).toBe(stepped);
    await page.close();
  });

  it('made no request off the server', () => {
    expect(blocked).toEqual([]);
  });
});
