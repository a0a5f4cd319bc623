import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal metadata hashes equally whatever its key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** What gets embedded; a change means new vectors. */
export function contentHash(title: string | null | undefined, body: string): string {
  return sha256(stableJson({ title: title ?? null, body }));
}

/** What only travels as payload; a change means a payload update, no embedding. */
export function metadataHash(metadata: Record<string, unknown>, labels: string[]): string {
  return sha256(stableJson({ metadata, labels: [...labels].sort() }));
}
