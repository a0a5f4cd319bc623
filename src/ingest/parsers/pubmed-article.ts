import type { DocumentInput } from '../../catalog/documents.js';
import type { ParsedRecord } from './parsed-record.js';
import { child, children, textOf, type XmlElement } from './xml-tree.js';

/**
 * Turns one `PubmedArticle` or bare `MedlineCitation` (older MedlineCitationSet files)
 * into a document: id = PMID, title = ArticleTitle, body = the abstract with structured
 * sections as `LABEL: text` paragraphs. `PubmedBookArticle` (book chapters, a different
 * schema) and articles without a PMID or without both title and abstract are error records.
 */
export function articleToRecord(article: XmlElement, record: number): ParsedRecord {
  if (article.name === 'PubmedBookArticle') return { record, error: 'PubmedBookArticle (book or chapter) records are not supported' };
  const citation = article.name === 'MedlineCitation' ? article : child(article, 'MedlineCitation');
  const pmid = textOf(child(citation, 'PMID'));
  if (!citation || pmid === '') return { record, error: 'article has no MedlineCitation/PMID' };
  const details = child(citation, 'Article');
  const title = textOf(child(details, 'ArticleTitle'));
  const body = abstractOf(child(details, 'Abstract'));
  if (title === '' && body === '') return { record, error: `PMID ${pmid}: has neither an ArticleTitle nor an abstract` };
  const doc: DocumentInput = { externalId: pmid, title: title === '' ? null : title, body, metadata: metadataOf(article, citation, details) };
  return { record, doc };
}

function abstractOf(abstract: XmlElement | undefined): string {
  const sections: string[] = [];
  for (const section of children(abstract, 'AbstractText')) {
    const text = textOf(section);
    if (text === '') continue;
    const label = section.attributes.Label?.trim();
    sections.push(label ? `${label}: ${text}` : text);
  }
  return sections.join('\n\n');
}

function metadataOf(article: XmlElement, citation: XmlElement, details: XmlElement | undefined): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  const journal = textOf(child(details, 'Journal', 'Title')) || textOf(child(details, 'Journal', 'ISOAbbreviation'));
  if (journal !== '') metadata.journal = journal;
  const year = yearOf(details);
  if (year !== undefined) metadata.year = year;
  metadata.authors = authorsOf(child(details, 'AuthorList'));
  metadata.mesh = children(child(citation, 'MeshHeadingList'), 'MeshHeading')
    .map((h) => textOf(child(h, 'DescriptorName')))
    .filter((name) => name !== '');
  const doi = doiOf(article, details);
  if (doi !== undefined) metadata.doi = doi;
  metadata.publication_types = children(child(details, 'PublicationTypeList'), 'PublicationType')
    .map(textOf)
    .filter((type) => type !== '');
  return metadata;
}

/** PubDate/Year, else the first year in a free-text MedlineDate ("1998 Dec-1999 Jan"), else ArticleDate/Year. */
function yearOf(details: XmlElement | undefined): number | undefined {
  const pubDate = child(details, 'Journal', 'JournalIssue', 'PubDate');
  const candidates = [textOf(child(pubDate, 'Year')), textOf(child(pubDate, 'MedlineDate')), textOf(child(details, 'ArticleDate', 'Year'))];
  for (const text of candidates) {
    const match = /\b(\d{4})\b/.exec(text);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}

/** "LastName Initials" per author, or the CollectiveName of a group; authors marked invalid (ValidYN="N") are left out. */
function authorsOf(list: XmlElement | undefined): string[] {
  const authors: string[] = [];
  for (const author of children(list, 'Author')) {
    if (author.attributes.ValidYN === 'N') continue;
    const lastName = textOf(child(author, 'LastName'));
    const name = lastName !== '' ? `${lastName} ${textOf(child(author, 'Initials'))}`.trim() : textOf(child(author, 'CollectiveName'));
    if (name !== '') authors.push(name);
  }
  return authors;
}

// Only PubmedData's own ArticleIdList: the reference list nests ArticleIdLists of cited works.
function doiOf(article: XmlElement, details: XmlElement | undefined): string | undefined {
  const ids = children(child(article, 'PubmedData', 'ArticleIdList'), 'ArticleId');
  const locations = children(details, 'ELocationID');
  const fromIds = ids.find((id) => id.attributes.IdType === 'doi');
  const fromLocation = locations.find((loc) => loc.attributes.EIdType === 'doi' && loc.attributes.ValidYN !== 'N');
  const doi = textOf(fromIds) || textOf(fromLocation);
  return doi === '' ? undefined : doi;
}
