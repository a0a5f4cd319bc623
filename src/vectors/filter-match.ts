import type { Condition, Filter, Payload, PayloadValue } from './vector-index.js';

/** Reads a dotted path (`metadata.year`) from a payload. */
export function payloadAt(payload: Payload, key: string): PayloadValue | undefined {
  let value: PayloadValue | undefined = payload;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, PayloadValue>)[part];
  }
  return value;
}

function matchesOne(value: PayloadValue, condition: Condition): boolean {
  if ('match' in condition) return value === condition.match;
  if ('any' in condition) return (condition.any as PayloadValue[]).includes(value);
  if (typeof value !== 'number') return false;
  const { gt, gte, lt, lte } = condition.range;
  return (gt === undefined || value > gt) && (gte === undefined || value >= gte) && (lt === undefined || value < lt) && (lte === undefined || value <= lte);
}

/** Qdrant's filter semantics: every condition holds; an array field matches if any element does. */
export function matchesFilter(payload: Payload, filter: Filter | undefined): boolean {
  if (!filter) return true;
  return filter.must.every((condition) => {
    const value = payloadAt(payload, condition.key);
    if (value === undefined) return false;
    return Array.isArray(value) ? value.some((v) => matchesOne(v, condition)) : matchesOne(value, condition);
  });
}
