import type { DocumentInput } from '../catalog/documents.js';
import { InvalidInputError, type FieldIssue } from '../lib/errors.js';

/**
 * Deepest metadata nesting accepted (the metadata object itself is depth 1). Deeper values
 * only come from hostile or broken input, and recursive code (hashing, jsonb, payload
 * filters) must never see them (issue 10: 10,000 levels overflowed the stack).
 */
export const MAX_METADATA_DEPTH = 32;

/** Issues found in one document, at most this many (a huge bad record must not build a huge answer). */
const MAX_ISSUES = 20;

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Why a string cannot be stored, or undefined: Postgres text and jsonb refuse U+0000, and lone surrogates are invalid UTF-8. */
export function stringProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains U+0000 (NUL), which cannot be stored';
  if (!value.isWellFormed()) return 'is not valid Unicode (lone surrogate / invalid UTF-8)';
  return undefined;
}

/** One problem found in metadata: its path below the metadata object, and why. */
export interface MetadataIssue {
  path: string[];
  detail: string;
}

/**
 * Walks metadata without recursion (depth is bounded by MAX_METADATA_DEPTH, but the walk
 * must survive any input to report it): NUL or invalid Unicode in keys and strings,
 * non-finite numbers (JSON cannot hold them), a `__proto__` key (JavaScript objects drop
 * it silently), nesting deeper than the limit. Give it the raw JSON.parse output.
 */
export function findMetadataIssues(metadata: unknown): MetadataIssue[] {
  const issues: MetadataIssue[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value: metadata, path: [] }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) issues.push({ path, detail: problem });
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) issues.push({ path, detail: 'is not a finite number' });
    } else if (value !== null && typeof value === 'object') {
      if (path.length + 1 > MAX_METADATA_DEPTH) {
        issues.push({ path, detail: `nests deeper than ${MAX_METADATA_DEPTH} levels` });
        continue;
      }
      const isArray = Array.isArray(value);
      const entries: [string, unknown][] = isArray ? value.map((v, i) => [String(i), v]) : Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const keyProblem = isArray ? undefined : key === '__proto__' ? 'is a reserved key' : stringProblem(key);
        if (keyProblem) issues.push({ path: [...path, key], detail: key === '__proto__' ? keyProblem : `key ${keyProblem}` });
        else stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return issues;
}

/** findMetadataIssues() as field issues with JSON pointers under `pointer`. */
export function metadataIssues(metadata: unknown, pointer = '/metadata'): FieldIssue[] {
  return findMetadataIssues(metadata).map((i) => ({ pointer: `${pointer}${i.path.map((k) => `/${escapePointer(k)}`).join('')}`, detail: i.detail }));
}

/**
 * Field checks every ingest route shares (POST/PATCH documents, imports, CLI ingest): no NUL
 * or invalid Unicode in id, title, text or labels, and metadata within metadataIssues().
 * Pointers are relative to the document (`/title`, `/metadata/a/b`), prefixed by `base`.
 */
export function documentFieldIssues(doc: Partial<Pick<DocumentInput, 'externalId' | 'title' | 'body' | 'metadata' | 'labels'>>, base = ''): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const check = (value: unknown, pointer: string) => {
    if (typeof value !== 'string') return;
    const problem = stringProblem(value);
    if (problem) issues.push({ pointer: `${base}${pointer}`, detail: problem });
  };
  check(doc.externalId, '/id');
  check(doc.title, '/title');
  check(doc.body, '/text');
  (Array.isArray(doc.labels) ? doc.labels : []).slice(0, 10_000).forEach((label, i) => check(label, `/labels/${i}`));
  if (doc.metadata !== undefined) issues.push(...metadataIssues(doc.metadata, `${base}/metadata`));
  return issues.slice(0, MAX_ISSUES);
}

/** Throws InvalidInputError (422) naming each field documentFieldIssues() finds. */
export function assertDocumentFields(doc: Parameters<typeof documentFieldIssues>[0], base = ''): void {
  const issues = documentFieldIssues(doc, base);
  if (issues.length > 0) throw new InvalidInputError(`invalid document: ${issues.slice(0, 3).map((i) => `${i.pointer} ${i.detail}`).join('; ')}`, issues);
}
