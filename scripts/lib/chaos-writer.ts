// Child process of scripts/chaos-outbox.ts: writes documents as fast as it can through the
// real ingest path while an outbox worker applies them, printing `ack <op> <id> <version>`
// after each commit, until it is killed. With --index-down every index call fails; with
// --qdrant-url it writes to that Qdrant (which the parent may have killed: a real outage).
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { ensureCollectionRecord } from '../../src/catalog/collections.js';
import { deleteDocuments } from '../../src/catalog/documents.js';
import { documents } from '../../src/db/schema.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { ingestDocuments } from '../../src/ingest/ingest-documents.js';
import { OutboxWorker } from '../../src/outbox/outbox-worker.js';
import { openStores } from '../../src/stores.js';
import { flakyIndex } from '../../test/helpers/flaky-index.js';
import { CHAOS_COLLECTION } from './chaos-shared.js';

const { values } = parseArgs({ options: {
  'data-dir': { type: 'string' }, 'database-url': { type: 'string' }, round: { type: 'string', default: '0' },
  'index-down': { type: 'boolean', default: false }, drain: { type: 'boolean', default: false }, 'qdrant-url': { type: 'string' },
} });
const round = Number(values.round);
const stores = await openStores({ dataDir: values['data-dir']!, databaseUrl: values['database-url'], qdrantUrl: values['qdrant-url'], qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
const index = flakyIndex(stores.index);
index.down = values['index-down'];
const db = stores.database.db;
const embedder = new HashEmbedder(32, 24);
const collection = await ensureCollectionRecord(db, CHAOS_COLLECTION);
const worker = new OutboxWorker({ db, index, baseBackoffMs: 20, maxBackoffMs: 200, leaseMs: 2000 });

if (values.drain) {
  const left = await worker.drain(120_000);
  process.stdout.write(`drained ${left}\n`);
  await stores.close();
  process.exit(left === 0 ? 0 : 1);
}

const live = (await db.select({ id: documents.externalId }).from(documents).where(eq(documents.collectionId, collection.id))).map((r) => r.id);
worker.start(20);
process.stdout.write('ready\n');
let seed = round * 7919 + 17;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
for (let n = 0; ; n++) {
  const version = round * 1_000_000 + n;
  const dice = rnd();
  const words = Array.from({ length: 5 + Math.floor(rnd() * 60) }, (_, i) => `w${(version + i) % 97}`).join(' ');
  if (dice < 0.6 || live.length === 0) {
    const id = `r${round}-${n}`;
    process.stdout.write(`intent create ${id} ${version}\n`);
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: id, body: `version ${version} ${words}`, metadata: { version } }] });
    live.push(id);
    process.stdout.write(`ack create ${id} ${version}\n`);
  } else if (dice < 0.85) {
    const id = live[Math.floor(rnd() * live.length)]!;
    process.stdout.write(`intent update ${id} ${version}\n`);
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: id, body: `version ${version} ${words}`, metadata: { version }, labels: [`v${version % 3}`] }] });
    process.stdout.write(`ack update ${id} ${version}\n`);
  } else {
    const id = live.splice(Math.floor(rnd() * live.length), 1)[0]!;
    process.stdout.write(`intent delete ${id} ${version}\n`);
    await deleteDocuments(db, collection, [id]);
    process.stdout.write(`ack delete ${id} ${version}\n`);
  }
  worker.notify();
}
