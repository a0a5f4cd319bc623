// Memory and database cost of random bad bearer tokens (issue 10, item 5):
//   npm run -s load:bad-tokens -- [--n 200000] [--concurrency 16]
// Serves biovec on loopback (PGlite, embedded index, hash embedder, one API key so auth is
// on), sends n requests with random well-formed tokens (`bv_<8 hex>_<43 chars>`, the costliest
// kind: they pass the format check) and prints RSS and heap before, along the way and after
// as JSON. Client and server share the process, so RSS includes the client's.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKey } from '../src/auth/api-keys.js';
import { loadConfig } from '../src/config.js';
import { HashEmbedder } from '../src/embedding/adapters/hash-embedder.js';
import { silentLogger } from '../src/lib/logger.js';
import { startServer } from '../src/main.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' }, concurrency: { type: 'string', default: '16' } } });
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);

const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rssMb: Math.round(m.rss / 2 ** 20), heapUsedMb: Math.round(m.heapUsed / 2 ** 20) };
};

const dataDir = await mkdtemp(join(tmpdir(), 'biovec-bad-tokens-'));
const server = await startServer(loadConfig({}, { dataDir, port: 0, host: '127.0.0.1' }), { embedder: new HashEmbedder(), logger: silentLogger() });
try {
  const { token } = await createApiKey(server.deps.db, { name: 'load', scope: 'read' });
  const url = `${server.url}/v1/collections`;
  // Warm up: the real key once, so what follows measures the bad tokens only.
  if ((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status !== 200) throw new Error('the real key was refused');
  for (let i = 0; i < 2000; i++) await fetch(url, { headers: { authorization: `Bearer bv_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}` } }).then((r) => r.arrayBuffer());
  const before = memory();
  const started = performance.now();
  const statuses: Record<number, number> = {};
  let sent = 0;
  // RSS along the way: growth that levels off is the allocator and the client, not a leak.
  const samples: { after: number; rssMb: number; heapUsedMb: number }[] = [];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (sent < N) {
      const mine = ++sent;
      const bad = `bv_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${bad}` } });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (mine % Math.ceil(N / 4) === 0) samples.push({ after: sent, ...memory() });
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const after = memory();
  process.stdout.write(`${JSON.stringify({ requests: N, statuses, seconds: Number(seconds.toFixed(1)), requestsPerSecond: Math.round(N / seconds), before, samples, after, growthMb: after.rssMb - before.rssMb })}\n`);
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
