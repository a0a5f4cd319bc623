import { InvalidInputError, PayloadTooLargeError } from '../lib/errors.js';
import { MalformedRequestError } from '../http/problem.js';
import { invalidUtf8Problem } from '../http/validation.js';

/**
 * Reads a documents body: a JSON array, `{ "documents": [...] }`, or NDJSON (one object a
 * line, by content type or by shape). Returns the raw items for per-document validation.
 */
export function parseDocumentsBody(bytes: ArrayBuffer, contentType: string, maxDocuments: number): unknown[] {
  const notUtf8 = invalidUtf8Problem(bytes);
  if (notUtf8) throw notUtf8;
  const text = new TextDecoder('utf-8').decode(bytes);
  const isNdjson = /ndjson|jsonl|json-seq/.test(contentType) || (!/json/.test(contentType) && text.trimStart().startsWith('{') && text.includes('\n{'));
  let items: unknown[];
  if (isNdjson) {
    items = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        items.push(JSON.parse(line));
      } catch {
        throw new MalformedRequestError(`line ${i + 1} is not valid JSON`);
      }
    });
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new MalformedRequestError('the body is not valid JSON (send a JSON array of documents, or NDJSON with Content-Type: application/x-ndjson)');
    }
    if (value && typeof value === 'object' && !Array.isArray(value) && Array.isArray((value as { documents?: unknown }).documents)) value = (value as { documents: unknown[] }).documents;
    if (!Array.isArray(value)) throw new InvalidInputError('the body must be a JSON array of documents (or {"documents": [...]})', [{ pointer: '/', detail: 'not an array' }]);
    items = value;
  }
  if (items.length === 0) throw new InvalidInputError('no documents in the body', [{ pointer: '/', detail: 'empty' }]);
  if (items.length > maxDocuments) {
    throw new PayloadTooLargeError(`${items.length} documents in one request; the limit is ${maxDocuments}: split the batch or use POST …/imports`);
  }
  return items;
}
