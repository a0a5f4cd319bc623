import { InvalidInputError, type FieldIssue } from '../lib/errors.js';

/**
 * Checks embed() input: strings, well-formed Unicode (no lone surrogates, the JS form of
 * invalid UTF-8), not blank. Collects every problem so one response names them all.
 */
export function validateTexts(texts: unknown[], pointerBase = ''): string[] {
  if (!Array.isArray(texts)) throw new InvalidInputError('input must be an array of strings', [{ pointer: pointerBase || '/', detail: 'not an array' }]);
  const issues: FieldIssue[] = [];
  texts.forEach((text, i) => {
    const pointer = `${pointerBase}/${i}`;
    if (typeof text !== 'string') issues.push({ pointer, detail: `must be a string, got ${text === null ? 'null' : typeof text}` });
    else if (!text.isWellFormed()) issues.push({ pointer, detail: 'is not valid Unicode (lone surrogate / invalid UTF-8)' });
    else if (text.trim() === '') issues.push({ pointer, detail: 'is empty' });
  });
  if (issues.length > 0) {
    const shown = issues.slice(0, 5).map((i) => `${i.pointer} ${i.detail}`).join('; ');
    throw new InvalidInputError(`invalid input: ${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`, issues);
  }
  return texts as string[];
}
