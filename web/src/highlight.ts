import { h } from './dom.js';

/**
 * The abstract with the best chunk marked. Chunk offsets index the embedded text, which is the
 * title, a blank line, then the body (ingest's embeddedText), so they are moved into the body.
 */
export function highlightedAbstract(doc: { title: string | null; text: string }, chunk: { start: number; end: number }): HTMLElement {
  const shift = doc.title ? doc.title.length + 2 : 0;
  const start = Math.max(0, Math.min(doc.text.length, chunk.start - shift));
  const end = Math.max(start, Math.min(doc.text.length, chunk.end - shift));
  if (end === start) return h('p', { class: 'abstract' }, doc.text);
  return h('p', { class: 'abstract' }, doc.text.slice(0, start), h('mark', { class: 'best-chunk' }, doc.text.slice(start, end)), doc.text.slice(end));
}
