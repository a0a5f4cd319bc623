import { TextDecoder } from 'node:util';
import { InvalidInputError } from '../../lib/errors.js';
import { ArticleCollector } from './article-collector.js';
import { gunzipIfCompressed } from './gunzip-if-compressed.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../lib/read-lines.js';
import type { ParseOptions, ParsedRecord } from './parsed-record.js';
import { articleToRecord } from './pubmed-article.js';

/**
 * Parses PubMed/MEDLINE XML (`PubmedArticleSet`, or the older `MedlineCitationSet`; gzip
 * detected by magic bytes) into one record per article, numbered from 1, holding one
 * article in memory. Metadata: journal, year, authors, mesh, doi (when present) and
 * publication_types. Bad articles (no PMID, no title and no abstract, book articles,
 * malformed XML inside the article, larger than `maxRecordBytes`) are error records.
 * @throws InvalidInputError for file-level problems: not PubMed XML, truncated, invalid
 * UTF-8, corrupt gzip, one text node or tag longer than `maxRecordBytes`, nesting too deep;
 * every record before the problem has been yielded by then.
 */
export async function* parsePubmedXml(source: AsyncIterable<Uint8Array>, opts: ParseOptions = {}): AsyncGenerator<ParsedRecord> {
  const collector = new ArticleCollector(articleToRecord, opts.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES);
  // fatal: bad bytes must not turn silently into U+FFFD; the decoder also drops a BOM.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const bytes of gunzipIfCompressed(source)) {
    collector.write(decodeStrict(decoder, collector.line, bytes));
    yield* collector.take();
    if (collector.failure) throw collector.failure;
  }
  collector.write(decodeStrict(decoder, collector.line));
  collector.end();
  yield* collector.take();
  if (collector.failure) throw collector.failure;
}

function decodeStrict(decoder: TextDecoder, line: number, bytes?: Uint8Array): string {
  try {
    return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
  } catch (err) {
    // The decoder does not say where in the chunk it failed; the parser's line is where the chunk began.
    const detail = `the XML is not valid UTF-8 at or after line ${line}`;
    throw new InvalidInputError(detail, [{ pointer: `/lines/${line}`, detail }], { cause: err });
  }
}
