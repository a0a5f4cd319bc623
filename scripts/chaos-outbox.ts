// Crash test of the catalog → outbox → index path:
//   npm run -s chaos:outbox [-- --json] [--rounds 12] [--database-url postgres://…]
//   QDRANT_URL=http://127.0.0.1:6333 npm run -s chaos:outbox -- --json \
//     --qdrant-pid <pid of the running Qdrant> --qdrant-cmd '<shell command that starts it again>'
// A child process writes documents (creates, text updates, deletes) through the real ingest
// path and runs the outbox worker; it is killed with SIGKILL at a random moment, then
// restarted, round after round. Rounds in the middle run with the index down (an outage), so
// the backlog must survive kills and drain afterwards; between two of them the collection is
// deleted and re-created under the same name, so its new documents queue behind the old
// one's drop. The embedded index goes down by failing every call; with QDRANT_URL and
// --qdrant-cmd the Qdrant server itself is SIGKILLed before the outage and started again
// after it (detached: it keeps running after the script, its pid in the result). Finally one
// clean run drains the outbox and the catalog and index are compared.
//   acknowledged: writes the child confirmed after commit
//   lost: confirmed writes the catalog does not reflect
//   missing / orphans / stale: catalog chunks without a point / points without a chunk /
//   points whose vector or payload differs from the catalog (from reconcile)
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { dropCollectionRecord, getCollection, indexNameFor } from '../src/catalog/collections.js';
import { openDatabase } from '../src/db/client.js';
import { documents } from '../src/db/schema.js';
import { reconcile } from '../src/outbox/reconcile.js';
import { openStores } from '../src/stores.js';
import { QdrantIndex } from '../src/vectors/adapters/qdrant-index.js';
import { CHAOS_COLLECTION } from './lib/chaos-shared.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '12' }, 'database-url': { type: 'string' },
  'min-ms': { type: 'string', default: '150' }, 'max-ms': { type: 'string', default: '1500' },
  'qdrant-url': { type: 'string', default: process.env.QDRANT_URL || undefined },
  'qdrant-cmd': { type: 'string' }, 'qdrant-pid': { type: 'string' }, 'qdrant-log': { type: 'string' },
} });
const rounds = Number(values.rounds);
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };
const dataDir = await mkdtemp(join(tmpdir(), 'biovec-chaos-'));
const writer = join(import.meta.dirname, 'lib', 'chaos-writer.ts');
const qdrantUrl = values['qdrant-url'];
if (values['qdrant-cmd'] && !qdrantUrl) throw new Error('--qdrant-cmd needs QDRANT_URL (or --qdrant-url)');
const common = ['--data-dir', dataDir, ...(values['database-url'] ? ['--database-url', values['database-url']] : []), ...(qdrantUrl ? ['--qdrant-url', qdrantUrl] : [])];
const indexName = indexNameFor(CHAOS_COLLECTION.name, 1);
const openIndex = () => new QdrantIndex({ url: qdrantUrl!, timeoutMs: 5000 });

interface Op { op: 'create' | 'update' | 'delete'; id: string; version: number }
const acked: Op[] = [];
const intents: Op[] = [];

function runChild(args: string[], killAfterReadyMs?: number): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, ...common, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let killed = false;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const [kind, op, id, version] = line.split(' ');
        if (kind === 'ready' && killAfterReadyMs !== undefined) {
          setTimeout(() => { killed = true; child.kill('SIGKILL'); }, killAfterReadyMs);
        } else if (kind === 'ack' || kind === 'intent') {
          (kind === 'ack' ? acked : intents).push({ op: op as Op['op'], id: id!, version: Number(version) });
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!killed && code !== 0) process.stderr.write(stderr);
      resolve({ code, killed });
    });
  });
}

// --- A real Qdrant, really killed: SIGKILL (no shutdown), then started again by --qdrant-cmd.
let qdrantPid = values['qdrant-pid'] ? Number(values['qdrant-pid']) : undefined;
let isOwnQdrant = false;
const isAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killQdrant(): Promise<void> {
  if (qdrantPid === undefined) throw new Error('--qdrant-cmd needs --qdrant-pid: the pid of the Qdrant to kill');
  // Our own start runs in its own process group (sh and the server); an outside pid alone.
  process.kill(isOwnQdrant ? -qdrantPid : qdrantPid, 'SIGKILL');
  for (let i = 0; i < 200 && isAlive(qdrantPid); i++) await sleep(50);
  log(`Qdrant (pid ${qdrantPid}) SIGKILLed`);
}

async function startQdrant(): Promise<void> {
  const out = openSync(values['qdrant-log'] ?? join(tmpdir(), 'biovec-chaos-qdrant.log'), 'a');
  const child = spawn('sh', ['-c', values['qdrant-cmd']!], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  qdrantPid = child.pid!;
  isOwnQdrant = true;
  const started = Date.now();
  for (;;) {
    const ok = await fetch(`${qdrantUrl!.replace(/\/+$/, '')}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() - started > 180_000 || !isAlive(qdrantPid)) throw new Error('Qdrant did not come back within 180 s (see --qdrant-log)');
    await sleep(250);
  }
  log(`Qdrant started again (pid ${qdrantPid}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Deletes the collection from the catalog (queueing its index's drop); the next child re-creates it under the same name. */
async function dropChaosCollection(): Promise<void> {
  const database = await openDatabase({ databaseUrl: values['database-url'], pgliteDir: values['database-url'] ? undefined : join(dataDir, 'catalog') });
  try {
    await dropCollectionRecord(database.db, CHAOS_COLLECTION.name);
  } finally {
    await database.close();
  }
}

const isKilling = Boolean(values['qdrant-cmd']);
if (qdrantUrl) {
  // The server outlives runs: start from no index collection, as the fresh catalog does.
  const index = openIndex();
  await index.dropCollection(indexName);
  await index.close();
}
const first = Math.floor(rounds / 3);
const outageRounds = new Set([first, first + 1, first + 2]);
let kills = 0;
let acknowledged = 0;
let recreatedAtRound: number | undefined;
for (let round = 1; round <= rounds; round++) {
  const delay = Number(values['min-ms']) + Math.random() * (Number(values['max-ms']) - Number(values['min-ms']));
  const outage = outageRounds.has(round);
  if (outage && round === first && isKilling) await killQdrant();
  if (round === first + 1) {
    // Mid-outage: everything acknowledged so far goes with the collection.
    await dropChaosCollection();
    recreatedAtRound = round;
    acknowledged += acked.length;
    acked.length = 0;
    intents.length = 0;
    log(`collection ${CHAOS_COLLECTION.name} deleted; round ${round} re-creates it as ${indexName} again`);
  }
  const { killed } = await runChild(['--round', String(round), ...(outage && !isKilling ? ['--index-down'] : [])], delay);
  if (killed) kills += 1;
  log(`round ${round}${outage ? ' (index down)' : ''}: killed after ${delay.toFixed(0)} ms; ${acknowledged + acked.length} writes acknowledged so far`);
  if (outage && round === first + 2 && isKilling) await startQdrant();
}
acknowledged += acked.length;
const drained = await runChild(['--drain']);
if (drained.code !== 0) throw new Error('the final drain did not empty the outbox');

const stores = await openStores({ dataDir, databaseUrl: values['database-url'], qdrantUrl, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
const db = stores.database.db;
const collection = await getCollection(db, 'chaos');
const rows = await db.select({ id: documents.externalId, metadata: documents.metadata }).from(documents).where(eq(documents.collectionId, collection.id));
const current = new Map(rows.map((r) => [r.id, Number((r.metadata as { version?: number }).version)]));
// The last acknowledged write per document must be visible, unless a later write (which may
// have committed before its ack was printed) superseded it.
const lastAck = new Map<string, Op>();
for (const op of acked) lastAck.set(op.id, op);
const laterIntent = (id: string, after: number) => intents.some((i) => i.id === id && i.version > after);
let lost = 0;
// Documents of the deleted incarnation (written in rounds before the re-creation) must be gone.
const resurrected = recreatedAtRound === undefined ? 0 : [...current.keys()].filter((id) => Number(/^r(\d+)-/.exec(id)?.[1]) < recreatedAtRound!).length;
for (const [id, op] of lastAck) {
  const version = current.get(id);
  if (op.op === 'delete') {
    if (version !== undefined && !laterIntent(id, op.version)) lost += 1;
  } else if (version === undefined ? !intents.some((i) => i.id === id && i.op === 'delete' && i.version > op.version) : version < op.version) {
    lost += 1;
  }
}
const [report] = await reconcile({ db, index: stores.index, repair: false, collection: 'chaos' });
if (qdrantUrl) await stores.index.dropCollection(indexName);
await stores.close();
await rm(dataDir, { recursive: true, force: true });
const result = {
  rounds, kills, outage_rounds: outageRounds.size, acknowledged, documents: current.size,
  lost: lost + resurrected, orphans: report!.orphans, missing: report!.missing, stale: report!.stale,
  catalog_points: report!.catalogPoints, index_points: report!.indexPoints,
  recreated_during_outage: recreatedAtRound !== undefined,
  catalog: values['database-url'] ? 'postgres' : 'pglite', index: qdrantUrl ? 'qdrant' : 'embedded',
  outage: isKilling ? 'qdrant SIGKILLed and restarted' : 'every index call failing',
  ...(isKilling ? { qdrant_pid: qdrantPid } : {}),
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else console.log(result);
process.exitCode = result.lost + result.orphans + result.missing + result.stale === 0 ? 0 : 1;
