// Time to first result in the web app (issue 13), through the page in Chromium:
//   npm run -s bench:webapp [-- --json] [--docs 5000] [--searches 20]
// Serves biovec on the tiny fixture model, loads `docs` SciFact abstracts (../shared/data)
// through the API, opens the app, then runs `searches` SciFact claims one after another by
// typing each into the box and pressing Enter. Each is timed in the page (performance.measure
// from the submit to the first result card in the DOM: the search request included, the
// abstracts fetched afterwards not) and from the test driver (keypress to the card seen).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startServedBiovec } from './lib/served-biovec.js';
import { ensureWebBuilt, launchChromium, missingForBrowserTests, scifactDocs, scifactQueries, seedDocuments } from '../test/web/web-fixtures.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, docs: { type: 'string', default: '5000' }, searches: { type: 'string', default: '20' } } });
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };
const missing = missingForBrowserTests();
if (missing) {
  console.error(`bench:webapp ${missing}`);
  process.exit(2);
}
const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]!; };
const round = (v: number) => Number(v.toFixed(1));

ensureWebBuilt();
const served = await startServedBiovec();
const context = await launchChromium();
try {
  const docs = scifactDocs({ count: Number(values.docs) });
  const loadStarted = performance.now();
  await seedDocuments(served.url, served.token, 'scifact', docs);
  const loadS = (performance.now() - loadStarted) / 1000;
  log(`loaded ${docs.length} abstracts in ${loadS.toFixed(0)} s`);

  const page = await context.newPage();
  await page.addInitScript({ content: `sessionStorage.setItem('biovec.apiKey', ${JSON.stringify(served.token)})` });
  await page.goto(`${served.url}/?c=scifact#search`);
  // Functions, not strings: the page's CSP has no 'unsafe-eval', which string predicates need.
  type Dom = { document: { getElementById(id: string): { value?: string; dataset: Record<string, string | undefined> } | null; querySelector(s: string): unknown } };
  await page.waitForFunction(() => {
    const d = (globalThis as unknown as Dom).document;
    return d.getElementById('collection')?.value === 'scifact' && d.getElementById('token-count')?.dataset.tokens !== undefined;
  });
  const inPage: number[] = [];
  const driver: number[] = [];
  for (const [i, query] of scifactQueries(Number(values.searches)).entries()) {
    await page.fill('#q', query);
    const t0 = performance.now();
    await page.press('#q', 'Enter');
    await page.waitForFunction((n) => performance.getEntriesByName('biovec:first-result').length === n && (globalThis as unknown as Dom).document.querySelector('#results .hit') !== null, i + 1, { polling: 'raf' });
    driver.push(performance.now() - t0);
    inPage.push(await page.evaluate(() => performance.getEntriesByName('biovec:first-result').at(-1)!.duration));
  }
  const flags = (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '').split(' ').filter((f) => /^(avx|avx2|avx512f|avx512_vnni|fma|sse4_2|amx_tile)$/.test(f));
  const result = {
    documents: docs.length, searches: inPage.length, load_s: round(loadS),
    first_result_ms: { p50: round(quantile(inPage, 0.5)), p90: round(quantile(inPage, 0.9)), max: round(Math.max(...inPage)) },
    driver_ms: { p50: round(quantile(driver, 0.5)), p90: round(quantile(driver, 0.9)) },
    loadavg: loadavg().map(round), cpus: cpus().length, cpu: cpus()[0]?.model, cpu_flags: flags,
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(`time to first result over ${result.documents} abstracts, ${result.searches} searches through the page: p50 ${result.first_result_ms.p50} ms (p90 ${result.first_result_ms.p90}, max ${result.first_result_ms.max}); driver-side p50 ${result.driver_ms.p50} ms; load ${result.loadavg.join(' ')} on ${result.cpus} CPUs (${flags.join(' ')})`);
} finally {
  await context.close();
  await served.stop();
}
