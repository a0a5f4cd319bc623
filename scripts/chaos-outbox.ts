// Crash test of the catalog → outbox → index path:
//   npm run -s chaos:outbox [-- --json] [--rounds 12] [--database-url postgres://…]
// A child process writes documents (creates, text updates, deletes) through the real ingest
// path and runs the outbox worker; it is killed with SIGKILL at a random moment, then
// restarted, round after round. Rounds in the middle run with every vector-index call
// failing (an outage), so the backlog must survive kills and drain afterwards. Finally one
// clean run drains the outbox and the catalog and index are compared.
//   acknowledged: writes the child confirmed after commit
//   lost: confirmed writes the catalog does not reflect
//   missing / orphans / stale: catalog chunks without a point / points without a chunk /
//   points whose vector or payload differs from the catalog (from reconcile)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { getCollection } from '../src/catalog/collections.js';
import { documents } from '../src/db/schema.js';
import { reconcile } from '../src/outbox/reconcile.js';
import { openStores } from '../src/stores.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '12' }, 'database-url': { type: 'string' },
  'min-ms': { type: 'string', default: '150' }, 'max-ms': { type: 'string', default: '1500' },
} });
const rounds = Number(values.rounds);
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };
const dataDir = await mkdtemp(join(tmpdir(), 'biovec-chaos-'));
const writer = join(import.meta.dirname, 'lib', 'chaos-writer.ts');
const common = ['--data-dir', dataDir, ...(values['database-url'] ? ['--database-url', values['database-url']] : [])];

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

const outageRounds = new Set([Math.floor(rounds / 3), Math.floor(rounds / 3) + 1, Math.floor(rounds / 3) + 2]);
let kills = 0;
for (let round = 1; round <= rounds; round++) {
  const delay = Number(values['min-ms']) + Math.random() * (Number(values['max-ms']) - Number(values['min-ms']));
  const outage = outageRounds.has(round);
  const { killed } = await runChild(['--round', String(round), ...(outage ? ['--index-down'] : [])], delay);
  if (killed) kills += 1;
  log(`round ${round}${outage ? ' (index down)' : ''}: killed after ${delay.toFixed(0)} ms; ${acked.length} writes acknowledged so far`);
}
const drained = await runChild(['--drain']);
if (drained.code !== 0) throw new Error('the final drain did not empty the outbox');

const stores = await openStores({ dataDir, databaseUrl: values['database-url'], qdrantUrl: undefined, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
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
for (const [id, op] of lastAck) {
  const version = current.get(id);
  if (op.op === 'delete') {
    if (version !== undefined && !laterIntent(id, op.version)) lost += 1;
  } else if (version === undefined ? !intents.some((i) => i.id === id && i.op === 'delete' && i.version > op.version) : version < op.version) {
    lost += 1;
  }
}
const [report] = await reconcile({ db, index: stores.index, repair: false, collection: 'chaos' });
await stores.close();
await rm(dataDir, { recursive: true, force: true });
const result = {
  rounds, kills, outage_rounds: outageRounds.size, acknowledged: acked.length, documents: current.size,
  lost, orphans: report!.orphans, missing: report!.missing, stale: report!.stale,
  catalog_points: report!.catalogPoints, index_points: report!.indexPoints,
  catalog: values['database-url'] ? 'postgres' : 'pglite', index: 'embedded',
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else console.log(result);
process.exitCode = lost + result.orphans + result.missing + result.stale === 0 ? 0 : 1;
