import type { Schemas } from '@qdrant/js-client-rest';
import type { Condition, Filter } from '../vector-index.js';

type QdrantFilter = Schemas['Filter'];
type QdrantCondition = Schemas['Condition'];

// Qdrant's match.value takes strings, integers and booleans only, so a fractional number is
// matched as the closed range [v, v]: the same equality filter-match.ts applies.
function equalTo(key: string, value: string | number | boolean): QdrantCondition {
  if (typeof value === 'number' && !Number.isInteger(value)) return { key, range: { gte: value, lte: value } };
  return { key, match: { value } };
}

// match.any takes a list of strings or a list of integers, never a mix, so a mixed list
// becomes an OR (should) of one any-of per kind plus one equality per fractional number.
function anyOf(key: string, values: (string | number)[]): QdrantCondition {
  const strings = values.filter((v): v is string => typeof v === 'string');
  const integers = values.filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
  const fractions = values.filter((v): v is number => typeof v === 'number' && !Number.isInteger(v));
  const parts: QdrantCondition[] = [];
  if (strings.length > 0) parts.push({ key, match: { any: strings } });
  if (integers.length > 0) parts.push({ key, match: { any: integers } });
  for (const value of fractions) parts.push(equalTo(key, value));
  if (parts.length === 1) return parts[0]!;
  // An empty list matches nothing in filter-match.ts; Qdrant's `any: []` is asked to do the same.
  if (parts.length === 0) return { key, match: { any: [] as string[] } };
  return { should: parts };
}

function toQdrantCondition(condition: Condition): QdrantCondition {
  if ('match' in condition) return equalTo(condition.key, condition.match);
  if ('any' in condition) return anyOf(condition.key, condition.any);
  const { gt, gte, lt, lte } = condition.range;
  const range: Schemas['Range'] = {};
  if (gt !== undefined) range.gt = gt;
  if (gte !== undefined) range.gte = gte;
  if (lt !== undefined) range.lt = lt;
  if (lte !== undefined) range.lte = lte;
  return { key: condition.key, range };
}

/**
 * Maps a port filter to Qdrant's filter JSON (`{ must: [{ key, match | range }] }`). Dotted keys
 * address nested payload fields and array fields match when any element does, in Qdrant as in
 * filter-match.ts. Undefined in, undefined out.
 */
export function toQdrantFilter(filter: Filter | undefined): QdrantFilter | undefined {
  if (!filter) return undefined;
  return { must: filter.must.map(toQdrantCondition) };
}
