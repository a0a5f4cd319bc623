import { v5 as uuidv5 } from 'uuid';

// A fixed namespace so ids are the same in every deployment and across re-ingests.
const BIOVEC_NAMESPACE = 'b10fec00-0000-5000-8000-000000001086';

/**
 * The point id of one chunk: UUIDv5 of (collection, document external id, chunk number).
 * Deterministic, so replaying an outbox row or re-ingesting overwrites instead of duplicating.
 */
export function pointId(collection: string, documentId: string, chunkIndex: number): string {
  return uuidv5(JSON.stringify([collection, documentId, chunkIndex]), BIOVEC_NAMESPACE);
}
