import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { InvalidInputError, NotFoundError } from '../lib/errors.js';

export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: Scope[] = ['read', 'write', 'admin'];
const RANK: Record<Scope, number> = { read: 0, write: 1, admin: 2 };

/** admin ⊃ write ⊃ read. */
export const scopeAllows = (held: Scope, needed: Scope) => RANK[held] >= RANK[needed];

export type ApiKeyRecord = typeof apiKeys.$inferSelect;

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Creates a key and returns its token, which is shown once: only its hash is stored. */
export async function createApiKey(db: Database, opts: { name: string; scope: Scope; rateLimitPerMinute?: number }): Promise<{ token: string; key: ApiKeyRecord }> {
  if (!SCOPES.includes(opts.scope)) throw new InvalidInputError(`scope must be one of ${SCOPES.join(', ')}`);
  const prefix = randomBytes(4).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [key] = await db.insert(apiKeys).values({ name: opts.name, prefix, secretHash: hashSecret(secret), scope: opts.scope, rateLimitPerMinute: opts.rateLimitPerMinute ?? 600 }).returning();
  return { token: `bv_${prefix}_${secret}`, key: key! };
}

/** A token's parts, or undefined when it is not shaped like one of ours (no lookup needed). */
export function parseToken(token: string): { prefix: string; secret: string } | undefined {
  const match = /^bv_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

/** Whether a token's secret is the one a key was made with. Constant-time. */
export function secretMatches(secret: string, key: ApiKeyRecord): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(key.secretHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/** Every key not revoked (hashes only: secrets are never stored). */
export function listActiveKeys(db: Database): Promise<ApiKeyRecord[]> {
  return db.select().from(apiKeys).where(isNull(apiKeys.revokedAt));
}

export function listApiKeys(db: Database): Promise<ApiKeyRecord[]> {
  return db.select().from(apiKeys).orderBy(asc(apiKeys.id));
}

export async function countActiveKeys(db: Database): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(apiKeys).where(isNull(apiKeys.revokedAt));
  return row?.n ?? 0;
}

/** Revokes by id or prefix. Throws NotFoundError. */
export async function revokeApiKey(db: Database, idOrPrefix: string): Promise<ApiKeyRecord> {
  const asId = /^\d+$/.test(idOrPrefix) ? Number(idOrPrefix) : -1;
  const [row] = await db.update(apiKeys).set({ revokedAt: new Date() }).where(and(or(eq(apiKeys.id, asId), eq(apiKeys.prefix, idOrPrefix)), isNull(apiKeys.revokedAt))).returning();
  if (!row) throw new NotFoundError('active API key', idOrPrefix);
  return row;
}
