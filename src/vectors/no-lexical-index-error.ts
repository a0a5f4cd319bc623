import { InvalidInputError } from '../lib/errors.js';

/** A lexical search on a collection without a lexical index (one made before issue 15, on Qdrant). 422. */
export class NoLexicalIndexError extends InvalidInputError {
  constructor(collection: string) {
    super(`collection ${collection} has no lexical index yet: use mode dense, or build it with \`biovec reconcile --repair --lexical\``, [
      { pointer: '/mode', detail: 'the collection has no lexical index' },
    ]);
  }
}
