import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { parsePubmedXml } from './pubmed-xml.js';
import { collect, collectUntilError, sharedData, streamOf } from './testing.js';

const structured = `<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">111</PMID>
    <Article PubModel="Print">
      <Journal>
        <JournalIssue CitedMedium="Print"><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
        <ISOAbbreviation>J Test</ISOAbbreviation>
      </Journal>
      <ArticleTitle>Effect of <i>in vivo</i> CO<sub>2</sub> &amp;
        Ca<sup>2+</sup> on &#946;-cells</ArticleTitle>
      <ELocationID EIdType="pii">S0001</ELocationID>
      <ELocationID EIdType="doi" ValidYN="Y">10.1000/from-elocation</ELocationID>
      <Abstract>
        <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Cells   need
          calcium.</AbstractText>
        <AbstractText Label="RESULTS">Levels rose (p &lt; 0.05).</AbstractText>
        <AbstractText Label="EMPTY"/>
        <CopyrightInformation>© Someone</CopyrightInformation>
      </Abstract>
      <AuthorList>
        <Author ValidYN="Y"><LastName>Smith</LastName><ForeName>Jane A</ForeName><Initials>JA</Initials></Author>
        <Author ValidYN="N"><LastName>Wrong</LastName><Initials>X</Initials></Author>
        <Author><LastName>Solo</LastName></Author>
        <Author ValidYN="Y"><CollectiveName>The Trial Group</CollectiveName></Author>
      </AuthorList>
      <PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType><PublicationType UI="D016454">Review</PublicationType></PublicationTypeList>
      <ArticleDate DateType="Electronic"><Year>2000</Year></ArticleDate>
    </Article>
    <CommentsCorrectionsList><CommentsCorrections RefType="CommentIn"><PMID Version="1">999</PMID></CommentsCorrections></CommentsCorrectionsList>
    <MeshHeadingList>
      <MeshHeading><DescriptorName UI="D002118" MajorTopicYN="N">Calcium</DescriptorName><QualifierName UI="Q1">metabolism</QualifierName></MeshHeading>
      <MeshHeading><DescriptorName UI="D006801" MajorTopicYN="Y">Humans</DescriptorName></MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
  <PubmedData>
    <ArticleIdList><ArticleId IdType="pubmed">111</ArticleId><ArticleId IdType="doi">10.1000/from-ids</ArticleId></ArticleIdList>
    <ReferenceList><Reference><ArticleIdList><ArticleId IdType="doi">10.1000/cited</ArticleId></ArticleIdList></Reference></ReferenceList>
  </PubmedData>
</PubmedArticle>`;

const plain = (pmid: string, title: string, abstract: string): string =>
  `<PubmedArticle><MedlineCitation><PMID>${pmid}</PMID><Article><Journal><Title>Plain Journal</Title><JournalIssue><PubDate><Year>2019</Year></PubDate></JournalIssue></Journal>` +
  `<ArticleTitle>${title}</ArticleTitle>${abstract ? `<Abstract><AbstractText>${abstract}</AbstractText></Abstract>` : ''}</Article></MedlineCitation></PubmedArticle>`;

const articleSet = (...articles: string[]): string =>
  `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n<PubmedArticleSet>\n${articles.join('\n')}\n</PubmedArticleSet>\n`;

const expectedStructured = {
  record: 1,
  doc: {
    externalId: '111',
    title: 'Effect of in vivo CO2 & Ca2+ on β-cells',
    body: 'BACKGROUND: Cells need calcium.\n\nRESULTS: Levels rose (p < 0.05).',
    metadata: {
      journal: 'J Test',
      year: 1998,
      authors: ['Smith JA', 'Solo', 'The Trial Group'],
      mesh: ['Calcium', 'Humans'],
      doi: '10.1000/from-ids',
      publication_types: ['Journal Article', 'Review'],
    },
  },
};

describe('parsePubmedXml', () => {
  it('extracts PMID, flattened title, labelled abstract sections and metadata', async () => {
    expect(await collect(parsePubmedXml(streamOf(articleSet(structured))))).toEqual([expectedStructured]);
  });

  it('reads gzip and survives one-byte chunks (tags, entities and characters split)', async () => {
    expect(await collect(parsePubmedXml(streamOf(gzipSync(articleSet(structured)), 1)))).toEqual([expectedStructured]);
    expect(await collect(parsePubmedXml(streamOf(`\uFEFF${articleSet(structured)}`, 1)))).toEqual([expectedStructured]);
  });

  it('reads the older MedlineCitationSet format, with the doi from ELocationID', async () => {
    const citation = structured.replace(/^<PubmedArticle>/, '').replace(/<PubmedData>[\s\S]*<\/PubmedArticle>$/, '');
    const xml = `<?xml version="1.0"?>\n<MedlineCitationSet>${citation}${citation.replaceAll('>111<', '>112<')}</MedlineCitationSet>`;
    const records = await collect(parsePubmedXml(streamOf(xml)));
    expect(records.map((r) => [r.record, r.doc?.externalId, r.doc?.metadata?.doi])).toEqual([
      [1, '111', '10.1000/from-elocation'],
      [2, '112', '10.1000/from-elocation'],
    ]);
  });

  it('makes error records of book articles, missing PMIDs, empty articles and malformed articles, and goes on', async () => {
    const book = '<PubmedBookArticle><BookDocument><PMID>5</PMID></BookDocument></PubmedBookArticle>';
    const noPmid = '<PubmedArticle><MedlineCitation><Article><ArticleTitle>T</ArticleTitle></Article></MedlineCitation></PubmedArticle>';
    const malformed = plain('7', 'Bad &nbsp; entity', '');
    const xml = articleSet(plain('1', 'Title only', ''), book, noPmid, plain('4', '', ''), plain('6', '', 'Abstract only.'), malformed, plain('8', 'Last', 'ok'));
    const records = await collect(parsePubmedXml(streamOf(xml)));
    expect(records.map((r) => [r.record, r.doc ? `${r.doc.externalId}|${r.doc.title}|${r.doc.body}` : r.error])).toEqual([
      [1, '1|Title only|'],
      [2, 'PubmedBookArticle (book or chapter) records are not supported'],
      [3, 'article has no MedlineCitation/PMID'],
      [4, 'PMID 4: has neither an ArticleTitle nor an abstract'],
      [5, '6|null|Abstract only.'],
      [6, expect.stringMatching(/^malformed XML at \d+:\d+: undefined entity/)],
      [7, '8|Last|ok'],
    ]);
  });

  it('throws InvalidInputError for a truncated file after reporting the cut article', async () => {
    const xml = articleSet(plain('1', 'A', 'a'), plain('2', 'B', 'b')).slice(0, -60);
    const { records, error } = await collectUntilError(parsePubmedXml(streamOf(xml)));
    expect(records).toEqual([expect.objectContaining({ record: 1 }), { record: 2, error: 'the input ends inside this article' }]);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toBe('the XML ends inside article 2 (truncated file?)');
  });

  it.each([
    ['not XML', '\n  id,text\n1,hello\n', /^not XML: the input does not start with "<"$/],
    ['text after the root', '<PubmedArticleSet/>trailing', /^malformed XML at 1:\d+: text data outside of root node/],
    ['another root', '<html><body/></html>', /^not PubMed XML: the root element is <html>/],
    ['empty input', '', /document must contain a root element/],
    ['a non-UTF-8 encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><PubmedArticleSet/>', /only UTF-8 XML is supported/],
  ])('throws InvalidInputError for %s', async (_name, xml, message) => {
    const { error } = await collectUntilError(parsePubmedXml(streamOf(xml)));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toMatch(message);
  });

  it('throws InvalidInputError for bytes that are not UTF-8 and for corrupt gzip', async () => {
    const badBytes = Buffer.concat([Buffer.from(articleSet(plain('1', 'A', 'a')).slice(0, 200)), Buffer.from([0xff]), Buffer.from('x')]);
    const utf8 = await collectUntilError(parsePubmedXml(streamOf(badBytes)));
    expect((utf8.error as InvalidInputError).detail).toMatch(/^the XML is not valid UTF-8 at or after line \d+$/);
    const gz = gzipSync(articleSet(plain('1', 'A', 'a')));
    const corrupt = await collectUntilError(parsePubmedXml(streamOf(gz.subarray(0, gz.length - 10))));
    expect(corrupt.error).toBeInstanceOf(InvalidInputError);
    expect((corrupt.error as InvalidInputError).detail).toMatch(/^the gzip data is corrupt or truncated/);
  });
});

describe('parsePubmedXml limits (issue 10)', () => {
  const parseSmall = (xml: string | Uint8Array) => collectUntilError(parsePubmedXml(streamOf(xml, 4096), { maxRecordBytes: 10_000 }));

  it('makes an article larger than maxRecordBytes an error record and goes on', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => `<AbstractText>part ${i}</AbstractText>`).join('');
    const big = `<PubmedArticle><MedlineCitation><PMID>2</PMID><Article><ArticleTitle>Big</ArticleTitle><Abstract>${many}</Abstract></Article></MedlineCitation></PubmedArticle>`;
    const { records, error } = await parseSmall(gzipSync(articleSet(plain('1', 'A', 'a'), big, plain('3', 'C', 'c'))));
    expect(error).toBeUndefined();
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error])).toEqual([
      [1, '1'],
      [2, 'the article is larger than 10000 characters (BIOVEC_MAX_RECORD_BYTES)'],
      [3, '3'],
    ]);
  });

  it.each([
    ['a text node', `<ArticleTitle>${'t'.repeat(50_000)}</ArticleTitle>`],
    ['a tag', `<ArticleTitle lang="${'t'.repeat(50_000)}">T</ArticleTitle>`],
    ['a comment', `<!-- ${'<'.repeat(50_000)} -->`],
  ])('stops with InvalidInputError naming the article when %s is longer than maxRecordBytes', async (_name, inner) => {
    const bad = `<PubmedArticle><MedlineCitation><PMID>2</PMID><Article>${inner}</Article></MedlineCitation></PubmedArticle>`;
    const { records, error } = await parseSmall(articleSet(plain('1', 'A', 'a'), bad, plain('3', 'C', 'c')));
    expect(records.map((r) => r.doc?.externalId)).toEqual(['1']);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toBe('one XML text, tag or comment in article 2 is longer than 10000 characters (BIOVEC_MAX_RECORD_BYTES); the file cannot be read past it');
  });

  it('stops with InvalidInputError when elements nest too deep', async () => {
    const deep = `<PubmedArticle>${'<i>'.repeat(1000)}${'</i>'.repeat(1000)}</PubmedArticle>`;
    const { records, error } = await parseSmall(articleSet(plain('1', 'A', 'a'), deep));
    expect(records.map((r) => r.doc?.externalId)).toEqual(['1']);
    expect((error as InvalidInputError).detail).toBe('the XML nests deeper than 256 elements (article 2)');
  });

  it('never expands DTD entities: a billion-laughs article and an external entity are error records, the rest is read', async () => {
    const laughs = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
    const doctype = `<!DOCTYPE PubmedArticleSet [<!ENTITY lol0 "lol">${laughs}<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`;
    const xml = `<?xml version="1.0"?>${doctype}<PubmedArticleSet>${plain('1', 'A &lol9;', 'a')}${plain('2', 'B &xxe;', 'b')}${plain('3', 'C', 'c')}</PubmedArticleSet>`;
    const { records, error } = await parseSmall(xml);
    expect(error).toBeUndefined();
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error])).toEqual([
      [1, expect.stringMatching(/undefined entity/)],
      [2, expect.stringMatching(/undefined entity/)],
      [3, '3'],
    ]);
  });
});

const pubmed = join(sharedData, 'pubmed');

describe.skipIf(!existsSync(pubmed))('parsePubmedXml on NLM sample files (skipped: shared data ../shared/data/pubmed is absent)', () => {
  const parseFile = (path: string) => collect(parsePubmedXml(createReadStream(join(pubmed, path))));

  it.each([
    ['nlm_samples/pubmedsample_2019.xml.gz', 176, 0],
    ['nlm_samples/medsamp2014.xml.gz', 161, 0],
    ['nlm_samples/medsamp2017.xml', 95, 0],
    // Seven book reviews there have an empty ArticleTitle and no abstract.
    ['nlm_samples/pubmedsample18n0001.xml.gz', 177, 7],
    ['test_current_medline.xml.gz', 4, 0],
  ])('%s has %i articles, %i of them unusable', async (path, articles, errors) => {
    const records = await parseFile(path);
    expect(records).toHaveLength(articles);
    expect(records.map((r) => r.record)).toEqual(Array.from({ length: articles }, (_, i) => i + 1));
    expect(records.filter((r) => r.error)).toHaveLength(errors);
  });

  it('reads every field of PMID 29768149 exactly', async () => {
    const [record, ...rest] = await parseFile('pubmed-29768149.xml');
    expect(rest).toEqual([]);
    const doc = record?.doc;
    expect(doc?.externalId).toBe('29768149');
    expect(doc?.title).toBe('Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.');
    const sections = doc?.body.split('\n\n') ?? [];
    expect(sections.map((s) => s.slice(0, s.indexOf(':')))).toEqual(['BACKGROUND', 'METHODS', 'RESULTS', 'CONCLUSIONS']);
    expect(sections[0]).toBe(
      'BACKGROUND: In patients with mild asthma, as-needed use of an inhaled glucocorticoid plus a fast-acting β 2-agonist may be an alternative to conventional treatment strategies.',
    );
    expect(sections[3]).toMatch(/SYGMA 1 ClinicalTrials\.gov number, NCT02149199 \.\)\.$/);
    expect(doc?.metadata).toEqual({
      journal: 'The New England journal of medicine',
      year: 2018,
      authors: ["O'Byrne PM", 'FitzGerald JM', 'Bateman ED', 'Barnes PJ', 'Zhong N', 'Keen C', 'Jorup C', 'Lamarca R', 'Ivanov S', 'Reddel HK'],
      mesh: expect.arrayContaining(['Asthma', 'Budesonide', 'Terbutaline']),
      doi: '10.1056/NEJMoa1715274',
      publication_types: ['Clinical Trial, Phase III', 'Comparative Study', 'Journal Article', 'Multicenter Study', 'Randomized Controlled Trial', "Research Support, Non-U.S. Gov't"],
    });
    expect(doc?.metadata?.mesh).toHaveLength(23);
  });
});
