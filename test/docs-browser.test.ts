// Issue 12: /docs in a real browser (Debian's chromium through playwright-core; `.ci/run`
// installs it) against a served biovec with keys required, with every request off the
// server's own origin blocked: the operations render, "Authorize" takes a key, and
// "Try it out" then gets a 200, so the key was sent.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedBiovec, type ServedBiovec } from '../scripts/lib/served-biovec.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
if (missing) console.warn(`skipping the /docs browser test: ${missing}`);

describe.skipIf(missing !== undefined)('/docs in a browser, offline', () => {
  let served: ServedBiovec;
  let profile: string;
  let context: BrowserContext;

  beforeAll(async () => {
    served = await startServedBiovec();
    profile = await mkdtemp(join(tmpdir(), 'biovec-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('renders the operations, authorizes with a key and sends it on "Try it out"', async () => {
    const page = await context.newPage();
    const blocked: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${served.url}/`)) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    // GET / is the web app (issue 13; test/web/), which links here.
    await page.goto(`${served.url}/docs`);

    const embeddings = page.locator('.opblock-post', { has: page.locator('[data-path="/v1/embeddings"]') });
    await embeddings.waitFor({ timeout: 60_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(15);

    await page.locator('.scheme-container button.authorize').click();
    const modal = page.locator('.modal-ux');
    await modal.locator('input').first().fill(served.token);
    await modal.locator('button.authorize').click();
    await modal.getByRole('button', { name: 'Remove authorization' }).waitFor({ timeout: 30_000 });
    await modal.locator('button.btn-done').click();

    const list = page.locator('.opblock-get', { has: page.locator('[data-path="/v1/collections"]') });
    await list.locator('.opblock-summary').first().click();
    await list.locator('.try-out__btn').click();
    await list.locator('.execute').click();
    const status = list.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 60_000 });
    expect((await status.innerText()).trim()).toBe('200');
    expect(await list.locator('.live-responses-table tr.response .response-col_description').first().innerText()).toContain('"default"');

    await page.screenshot({ path: join(tmpdir(), 'docs.png'), fullPage: false });
    expect(blocked, 'requests off the server origin').toEqual([]);
  }, 180_000);
});
