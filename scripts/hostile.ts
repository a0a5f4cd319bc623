// Hostile-input replay against a served biovec (issue 10): every bad input of items 1-12 that
// can be sent over HTTP, plus gzip / unclosed-quote CSV / XML entity bombs and random bad tokens.
//   npm run -s test:hostile [-- --json] [--quick] [--database-url postgres://…]
// Prints {cases, server_errors, crashes, max_rss_mb, unexpected, resets, …}; exits 1 when any
// case got a 5xx (or no answer at all) or the server died. `unexpected` lists cases answered
// outside their expected statuses (e.g. 200 for input that must be refused) and `resets` the
// over-limit uploads whose 413 was lost to a TCP reset, for review; they do not fail the run.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { startServedBiovec, type ServedBiovec } from './lib/served-biovec.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, 'database-url': { type: 'string' },
  'bomb-mb': { type: 'string' }, 'bad-tokens': { type: 'string' },
} });
const bombMb = Number(values['bomb-mb'] ?? (values.quick ? 48 : 256));
const badTokens = Number(values['bad-tokens'] ?? (values.quick ? 300 : 5000));
const MAX_BODY_BYTES = 1024 * 1024;
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
  /** Statuses this input should get; anything else is listed as unexpected. */
  expect: number[];
  token?: string | null;
  /** For imports: wait for the job and check it ended without taking the server down. */
  isJob?: boolean;
  /**
   * An over-limit body: the server answers 413 and closes without reading the rest, so the
   * answer can be lost to a TCP reset; that is counted as `resets`, not as a server error.
   */
  mayReset?: boolean;
}

const C = '/v1/collections/default';
const VECTOR = Array.from({ length: 32 }, (_, i) => ((i % 5) + 1) / 10);
const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const notUtf8 = (json: string) => Buffer.concat([Buffer.from(json.slice(0, json.indexOf('@'))), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(json.slice(json.indexOf('@') + 1))]);
const docs = (items: unknown[]) => JSON.stringify(items);
const V = JSON.stringify(VECTOR);

/** Gzip of one line of `mb` MiB (no newline): a few hundred KB that inflate to a record without end. */
function gzipBomb(mb: number): Buffer {
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  const parts: Buffer[] = [Buffer.from('{"id":"bomb","text":"')];
  for (let i = 0; i < mb; i++) parts.push(chunk);
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

function billionLaughs(): string {
  const ents = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [${ents.join('')}]>\n<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>&lol9;</ArticleTitle><Abstract><AbstractText>&lol9;</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>\n`;
}

function cases(): Case[] {
  const nul = '\u0000';
  const list: Case[] = [
    // 8: U+0000 everywhere; documents answer per document (200, failed), the others 422.
    ...(['id', 'title', 'text', 'abstract'] as const).map((f): Case => ({ name: `NUL in document ${f}`, method: 'POST', path: `${C}/documents`, body: docs([{ id: 'n', text: 'x', [f]: `a${nul}b` }]), expect: [200] })),
    { name: 'NUL in metadata key', method: 'POST', path: `${C}/documents`, body: docs([{ id: 'n', text: 'x', metadata: { [`k${nul}`]: 1 } }]), expect: [200] },
    { name: 'NUL in metadata value', method: 'POST', path: `${C}/documents`, body: docs([{ id: 'n', text: 'x', metadata: { k: { v: [`a${nul}`] } } }]), expect: [200] },
    { name: 'NUL in label', method: 'POST', path: `${C}/documents`, body: docs([{ id: 'n', text: 'x', labels: [`l${nul}`] }]), expect: [200] },
    { name: 'NUL in NDJSON document', method: 'POST', path: `${C}/documents`, body: `{"id":"n1","text":"a\\u0000"}\n{"id":"n2","text":"fine"}\n`, contentType: 'application/x-ndjson', expect: [200] },
    { name: 'NUL in PATCH title', method: 'PATCH', path: `${C}/documents/seed`, body: JSON.stringify({ title: `t${nul}` }), expect: [422] },
    { name: 'NUL in PATCH metadata', method: 'PATCH', path: `${C}/documents/seed`, body: JSON.stringify({ metadata: { [`k${nul}`]: 'v' } }), expect: [422] },
    { name: 'NUL in search query', method: 'POST', path: `${C}/search`, body: JSON.stringify({ query: `a${nul}b` }), expect: [422] },
    { name: 'NUL in search like', method: 'POST', path: `${C}/search`, body: JSON.stringify({ like: `a${nul}` }), expect: [422] },
    { name: 'NUL in search filter', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR, filter: { metadata: { k: nul }, labels: [nul] } }), expect: [422] },
    { name: 'NUL in embeddings input', method: 'POST', path: '/v1/embeddings', body: JSON.stringify({ input: [`a${nul}`] }), expect: [422] },
    { name: 'NUL in /embed and /run', method: 'POST', path: '/run', body: JSON.stringify([{ input: nul }]), expect: [422] },
    { name: 'NUL in collection name', method: 'POST', path: '/v1/collections', body: JSON.stringify({ name: `a${nul}` }), expect: [422] },
    { name: 'GET documents/%00', method: 'GET', path: `${C}/documents/%00`, expect: [422] },
    { name: 'PATCH documents/%00', method: 'PATCH', path: `${C}/documents/a%00b`, body: '{"title":"x"}', expect: [422] },
    { name: 'DELETE documents/%00', method: 'DELETE', path: `${C}/documents/%00`, expect: [422] },
    { name: 'export ?label_field=%00', method: 'GET', path: `${C}/export?label_field=%00`, expect: [422] },
    { name: 'export ?labels=%00', method: 'GET', path: `${C}/export?labels=%00&format=parquet`, expect: [422] },
    { name: 'import ?labels_field=%00', method: 'POST', path: `${C}/imports?format=ndjson&labels_field=%00`, body: '{"id":"i1","text":"x"}\n', expect: [422] },
    { name: 'import ?id_field=%00 (CSV)', method: 'POST', path: `${C}/imports?format=csv&id_field=%00`, body: 'id,text\n1,x\n', expect: [422] },
    // 8: metadata nested 10,000 deep (stack overflow in hashing), on every route that takes it.
    { name: 'deep metadata POST', method: 'POST', path: `${C}/documents`, body: `[{"id":"deep","text":"x","metadata":{"d":${deep(10_000)}}}]`, expect: [200] },
    { name: 'deep metadata PATCH', method: 'PATCH', path: `${C}/documents/seed`, body: `{"metadata":{"d":${deep(10_000)}}}`, expect: [422] },
    { name: 'deep search filter', method: 'POST', path: `${C}/search`, body: `{"vector":${V},"filter":{"metadata":{"d":${deep(10_000)}}}}`, expect: [422] },
    { name: 'deep JSON body (100,000)', method: 'POST', path: '/v1/embeddings', body: `{"input":${deep(100_000)}}`, expect: [400, 413, 422] },
    { name: 'deep metadata import', method: 'POST', path: `${C}/imports?format=ndjson`, body: `{"id":"deep-imp","text":"x","metadata":{"d":${deep(10_000)}}}\n{"id":"after-deep","text":"fine"}\n`, expect: [202], isJob: true },
    // 8: non-JSON PATCH, float32 overflow.
    { name: 'PATCH text/plain', method: 'PATCH', path: `${C}/documents/seed`, body: '{"title":"x"}', contentType: 'text/plain', expect: [415] },
    { name: 'PATCH no content type', method: 'PATCH', path: `${C}/documents/seed`, body: '{"title":"x"}', contentType: '', expect: [415] },
    { name: 'PATCH form', method: 'PATCH', path: `${C}/documents/seed`, body: 'title=x', contentType: 'application/x-www-form-urlencoded', expect: [415] },
    { name: 'vector 1e39', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR.map(() => 1e39) }), expect: [422] },
    { name: 'vector 1e30 (norm overflows)', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR.map(() => 1e30) }), expect: [422] },
    { name: 'zero vector', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR.map(() => 0) }), expect: [422] },
    { name: 'denormal vector', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR.map(() => 1e-45) }), expect: [200, 422] },
    { name: 'huge vector (500k dims)', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: new Array(500_000).fill(0.5) }), mayReset: true, expect: [413, 422] },
    { name: 'wrong-dimension vector', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: [1, 2, 3] }), expect: [422] },
    // 12: filters, duplicates, invalid UTF-8.
    { name: 'unknown filter key', method: 'POST', path: `${C}/search`, body: JSON.stringify({ vector: VECTOR, filter: { label: ['x'] } }), expect: [422] },
    { name: '__proto__ filter key', method: 'POST', path: `${C}/search`, body: `{"vector":${V},"filter":{"__proto__":{"labels":["x"]}}}`, expect: [422] },
    { name: '__proto__ metadata filter key', method: 'POST', path: `${C}/search`, body: `{"vector":${V},"filter":{"metadata":{"__proto__":"x"}}}`, expect: [422] },
    { name: 'constructor metadata filter key', method: 'POST', path: `${C}/search`, body: `{"vector":${V},"filter":{"metadata":{"constructor":"x"}}}`, expect: [200] },
    { name: '__proto__ metadata key', method: 'POST', path: `${C}/documents`, body: '[{"id":"p","text":"x","metadata":{"__proto__":{"polluted":true}}}]', expect: [200] },
    { name: 'duplicate ids', method: 'POST', path: `${C}/documents`, body: docs([{ id: 'dup', text: 'one' }, { id: 'dup', text: 'two' }]), expect: [200] },
    { name: 'invalid UTF-8 /search', method: 'POST', path: `${C}/search`, body: notUtf8('{"query":"a@"}'), expect: [400] },
    { name: 'invalid UTF-8 /v1/embeddings', method: 'POST', path: '/v1/embeddings', body: notUtf8('{"input":"a@"}'), expect: [400] },
    { name: 'invalid UTF-8 /embed', method: 'POST', path: '/embed', body: notUtf8('{"inputs":["@"]}'), expect: [400] },
    { name: 'invalid UTF-8 /documents', method: 'POST', path: `${C}/documents`, body: notUtf8('[{"id":"u","text":"@"}]'), expect: [400] },
    { name: 'invalid UTF-8 PATCH', method: 'PATCH', path: `${C}/documents/seed`, body: notUtf8('{"title":"@"}'), expect: [400] },
    { name: 'invalid UTF-8 import', method: 'POST', path: `${C}/imports?format=ndjson`, body: notUtf8('{"id":"u8","text":"@"}\n{"id":"u9","text":"fine"}\n'), expect: [202, 400, 422], isJob: true },
    { name: 'lone surrogate escape', method: 'POST', path: '/v1/embeddings', body: '{"input":"\\ud800"}', expect: [422] },
    { name: 'malformed JSON', method: 'POST', path: `${C}/search`, body: '{"query":', expect: [400] },
    // 4: over-limit bodies, also on paths that end in /imports but are not the import route.
    { name: 'over-limit documents', method: 'POST', path: `${C}/documents`, body: docs([{ id: 'big', text: 'a'.repeat(MAX_BODY_BYTES + 10) }]), mayReset: true, expect: [413] },
    { name: 'over-limit search', method: 'POST', path: `${C}/search`, body: JSON.stringify({ query: 'a'.repeat(MAX_BODY_BYTES + 10) }), mayReset: true, expect: [413] },
    { name: 'over-limit PATCH …/documents/imports', method: 'PATCH', path: `${C}/documents/imports`, body: JSON.stringify({ text: 'a'.repeat(8 * MAX_BODY_BYTES) }), mayReset: true, expect: [413] },
    { name: 'too many documents', method: 'POST', path: `${C}/documents`, body: docs(Array.from({ length: 5000 }, (_, i) => ({ id: `m${i}`, text: 'x' }))), mayReset: true, expect: [413] },
    // 1: bombs through the import route (streamed to disk; the job must fail or skip the record cleanly).
    { name: `gzip bomb (one ${bombMb} MiB line)`, method: 'POST', path: `${C}/imports?format=ndjson`, body: gzipBomb(bombMb), contentType: 'application/gzip', expect: [202, 413, 422], isJob: true },
    { name: `CSV unclosed quote (${bombMb} MiB)`, method: 'POST', path: `${C}/imports?format=csv`, body: Buffer.concat([Buffer.from('id,text\n1,"'), Buffer.alloc(bombMb * 1024 * 1024, 'a')]), contentType: 'text/csv', expect: [202, 413, 422], isJob: true },
    { name: 'XML entity bomb', method: 'POST', path: `${C}/imports?format=pubmed`, body: billionLaughs(), contentType: 'application/xml', expect: [202, 422], isJob: true },
    { name: 'NUL record among good ones (import)', method: 'POST', path: `${C}/imports?format=ndjson`, body: '{"id":"g1","text":"fine"}\n{"id":"g2","text":"a\\u0000"}\n{"id":"g3","text":"fine"}\n', expect: [202], isJob: true },
    // 2/3/5: auth.
    { name: 'no token', method: 'GET', path: '/v1/collections', token: null, expect: [401] },
    { name: 'malformed auth header', method: 'GET', path: '/v1/collections', token: 'Basic Zm9vOmJhcg==', expect: [401] },
    { name: 'bad token DELETE', method: 'DELETE', path: C, token: `Bearer bv_00000000_${'A'.repeat(43)}`, expect: [401] },
    { name: 'huge bearer token', method: 'GET', path: '/v1/collections', token: `Bearer ${'x'.repeat(12_000)}`, expect: [401, 431] },
    // other edges
    { name: 'wrong method', method: 'PUT', path: C, expect: [405] },
    { name: 'TRACE', method: 'TRACE', path: '/v1/embeddings', expect: [405] },
    { name: 'unknown route', method: 'GET', path: '/v1/%00', expect: [404] },
    { name: 'bad collection name', method: 'GET', path: '/v1/collections/..%2F..%2Fetc', expect: [404, 422] },
    { name: 'export year out of range', method: 'GET', path: `${C}/export?year_gte=1e400`, expect: [422] },
    { name: 'search k huge', method: 'POST', path: `${C}/search`, body: JSON.stringify({ query: 'x', k: 1e9 }), expect: [422] },
    { name: 'PATCH unknown field', method: 'PATCH', path: `${C}/documents/seed`, body: '{"titel":"x"}', expect: [422] },
  ];
  return list;
}

interface Outcome { name: string; status: number | 'error'; ms: number; detail?: string }

const RESET = 'connection closed without an answer';

/** A chunked HTTP/1.1 body, decoded (exports stream that way). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < raw.length;) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol < 0 ? NaN : parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * One request over a raw socket: a server may answer 413 and close while the body is still
 * going out, and that answer must count (HTTP clients report the failed write instead);
 * also lets any method through (TRACE).
 */
function request(url: string, opts: { method: string; headers: Record<string, string>; body?: string | Uint8Array }): Promise<{ status: number; text: string }> {
  const { hostname, port, pathname, search } = new URL(url);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const head = [`${opts.method} ${pathname}${search} HTTP/1.1`, `host: ${hostname}:${port}`, 'connection: close', ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`), ...(body ? [`content-length: ${body.length}`] : []), '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.setTimeout(300_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined); // EPIPE/ECONNRESET after an early answer: read what came back
    socket.on('close', () => {
      const raw = Buffer.concat(received);
      const split = raw.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, 20).toString('latin1'))?.[1] ?? NaN);
      if (raw.length === 0) return reject(new Error(RESET));
      if (!Number.isFinite(status) || split < 0) return reject(new Error(`no HTTP answer (${raw.length} bytes back)`));
      const headers = raw.subarray(0, split).toString('latin1').toLowerCase();
      const payload = raw.subarray(split + 4);
      resolve({ status, text: (headers.includes('transfer-encoding: chunked') ? dechunk(payload) : payload).toString('utf8') });
    });
    socket.on('connect', async () => {
      socket.write(head);
      for (let at = 0; body && at < body.length && !socket.destroyed; at += 65_536) {
        if (!socket.write(body.subarray(at, at + 65_536))) await new Promise((r) => socket.once('drain', r).once('close', r));
      }
    });
  });
}

async function send(server: ServedBiovec, c: Case): Promise<Outcome> {
  const started = performance.now();
  const headers: Record<string, string> = {};
  if (c.token !== null) headers.authorization = c.token ?? `Bearer ${server.token}`;
  if (c.body !== undefined && c.contentType !== '') headers['content-type'] = c.contentType ?? 'application/json';
  try {
    const res = await request(`${server.url}${c.path}`, { method: c.method, headers, body: c.body });
    let detail = res.text.slice(0, 300);
    if (c.isJob && res.status === 202) detail = await waitForJob(server, (JSON.parse(res.text) as { id: string }).id);
    return { name: c.name, status: res.status, ms: Math.round(performance.now() - started), detail };
  } catch (err) {
    return { name: c.name, status: 'error', ms: Math.round(performance.now() - started), detail: err instanceof Error ? err.message : String(err) };
  }
}

async function waitForJob(server: ServedBiovec, id: string): Promise<string> {
  for (let i = 0; i < 3000 && !server.hasExited(); i++) {
    const res = await fetch(`${server.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${server.token}` } }).catch(() => undefined);
    if (res && res.status >= 500) return `job poll answered ${res.status}`;
    const job = res ? ((await res.json()) as { status: string; done?: number; failed?: number; error?: string; errors?: { record: number; detail: string }[] }) : undefined;
    if (job && (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled')) {
      const errors = (job.errors ?? []).slice(0, 2).map((e) => `#${e.record} ${e.detail.slice(0, 80)}`);
      return `job ${job.status}: done ${job.done}, failed ${job.failed}${job.error ? `, error: ${job.error.slice(0, 120)}` : ''}${errors.length ? `, errors: ${errors.join(' | ')}` : ''}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server.hasExited() ? 'server died while the job ran' : 'job did not finish';
}

async function badTokenLoad(server: ServedBiovec, n: number): Promise<{ sent: number; server_errors: number; rss_before_mb: number; rss_after_mb: number }> {
  const before = server.maxRssMb();
  let serverErrors = 0;
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => fetch(`${server.url}/v1/collections`, { headers: { authorization: `Bearer bv_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}` } }).then((r) => r.status, () => 0));
    for (const status of await Promise.all(batch)) if (status >= 500 || status === 0) serverErrors++;
  }
  return { sent: n, server_errors: serverErrors, rss_before_mb: Math.round(before), rss_after_mb: Math.round(server.maxRssMb()) };
}

const server = await startServedBiovec({ env: { BIOVEC_MAX_BODY_BYTES: String(MAX_BODY_BYTES), BIOVEC_MAX_DOCUMENTS_PER_REQUEST: '1000' }, ...(values['database-url'] ? { databaseUrl: values['database-url'] } : {}) });
let exitCode = 1;
try {
  const seed = await fetch(`${server.url}${C}/documents`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: docs([{ id: 'seed', title: 'Aspirin', text: 'aspirin inhibits platelet aggregation', metadata: { year: 2001 }, labels: ['pharma'] }]) });
  if (seed.status !== 200) throw new Error(`seeding failed: ${seed.status} ${await seed.text()}`);
  const outcomes: Outcome[] = [];
  let crashes = 0;
  const all = cases();
  for (const c of all) {
    if (server.hasExited()) break;
    const outcome = await send(server, c);
    outcomes.push(outcome);
    log(`${String(outcome.status).padEnd(5)} ${c.name}${outcome.detail?.startsWith('job') ? ` → ${outcome.detail.slice(0, 120)}` : ''}`);
    if (server.hasExited()) crashes++;
  }
  const tokens = server.hasExited() ? undefined : await badTokenLoad(server, badTokens);
  if (server.hasExited() && crashes === 0) crashes++;
  const isReset = (o: Outcome) => o.status === 'error' && o.detail === RESET && all.find((c) => c.name === o.name)!.mayReset === true;
  const resets = outcomes.filter(isReset).map((o) => o.name);
  const serverErrors = outcomes.filter((o) => (o.status === 'error' && !isReset(o)) || (typeof o.status === 'number' && o.status >= 500) || o.detail === 'server died while the job ran' || o.detail?.startsWith('job poll answered 5')).length + (tokens?.server_errors ?? 0);
  const unexpected = outcomes.filter((o) => typeof o.status === 'number' && !all.find((c) => c.name === o.name)!.expect.includes(o.status)).map((o) => ({ name: o.name, status: o.status, detail: o.detail?.slice(0, 200) }));
  const summary = {
    cases: outcomes.length + (tokens?.sent ?? 0),
    input_cases: outcomes.length,
    server_errors: serverErrors,
    crashes,
    max_rss_mb: Math.round(server.maxRssMb()),
    bad_tokens: tokens,
    resets,
    unexpected,
    errors: outcomes.filter((o) => (o.status === 'error' && !isReset(o)) || (typeof o.status === 'number' && o.status >= 500)).map((o) => ({ name: o.name, status: o.status, detail: o.detail?.slice(0, 300) })),
  };
  process.stdout.write(`${JSON.stringify(summary, null, values.json ? undefined : 2)}\n`);
  if (server.hasExited()) process.stderr.write(`biovec serve exited (${server.exitCode()}):\n${server.output().slice(-4000)}\n`);
  exitCode = summary.server_errors > 0 || summary.crashes > 0 ? 1 : 0;
} finally {
  await server.stop();
}
process.exit(exitCode);
