import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { InvalidInputError } from '../../lib/errors.js';
import type { ParsedRecord } from './parsed-record.js';
import type { XmlElement } from './xml-tree.js';

/** Elements that make one record; MedlineCitation only counts outside a PubmedArticle. */
const ARTICLE_NAMES = new Set(['PubmedArticle', 'PubmedBookArticle', 'MedlineCitation']);
const ROOT_NAMES = new Set(['PubmedArticleSet', 'MedlineCitationSet', 'PubmedBookArticleSet']);

export type ArticleToRecord = (article: XmlElement, record: number) => ParsedRecord;

/**
 * Feeds XML text to a SAX parser and builds one article's element tree at a time, handing
 * each finished article to `toRecord`. Malformed XML inside an article makes that article an
 * error record and parsing goes on; malformed XML outside any article (not XML, wrong root,
 * truncated) is a file-level failure, kept in `failure` for the caller to throw after it has
 * yielded the records before it. DTD-declared entities are never expanded (saxes ignores
 * the internal subset), so entity-expansion attacks cannot inflate memory.
 */
export class ArticleCollector {
  private fileError: InvalidInputError | undefined;
  private readonly parser = new SaxesParser();
  private readonly open: XmlElement[] = [];
  private ready: ParsedRecord[] = [];
  private articles = 0;
  private depthOutside = 0;
  private articleError: string | undefined;
  private hasContent = false;

  constructor(private readonly toRecord: ArticleToRecord) {
    this.parser.on('xmldecl', (decl) => {
      if (decl.encoding !== undefined && !/^utf-?8$/i.test(decl.encoding)) this.fail(`only UTF-8 XML is supported; the file declares ${decl.encoding}`);
    });
    this.parser.on('opentag', (tag) => this.openElement(tag));
    this.parser.on('closetag', () => this.closeElement());
    this.parser.on('text', (text) => this.addText(text));
    this.parser.on('cdata', (text) => this.addText(text));
    this.parser.on('error', (err) => {
      if (this.open.length > 0) this.articleError ??= `malformed XML at ${err.message}`;
      else this.fail(`malformed XML at ${err.message}`);
    });
  }

  /** The file-level failure, if any; the caller throws it once it has yielded `take()`. */
  get failure(): InvalidInputError | undefined {
    return this.fileError;
  }

  /** 1-based line the parser has reached, for messages about the bytes around it. */
  get line(): number {
    return this.parser.line;
  }

  write(text: string): void {
    if (!this.hasContent) {
      const first = text.search(/\S/);
      // saxes would buffer all of a non-XML upload as one text node before complaining.
      if (first !== -1 && text[first] !== '<') this.fail('not XML: the input does not start with "<"');
      this.hasContent = first !== -1;
    }
    if (this.failure === undefined) this.parser.write(text);
  }

  /** Ends the input; an article still open means the file was cut short. */
  end(): void {
    if (this.failure !== undefined) return;
    const isInsideArticle = this.open.length > 0;
    this.parser.close();
    if (isInsideArticle) {
      this.ready.push({ record: this.articles, error: 'the input ends inside this article' });
      this.fail(`the XML ends inside article ${this.articles} (truncated file?)`);
    }
  }

  /** Records finished since the last call. */
  take(): ParsedRecord[] {
    const records = this.ready;
    this.ready = [];
    return records;
  }

  private openElement(tag: SaxesTagPlain): void {
    if (this.failure !== undefined) return;
    const element: XmlElement = { name: tag.name, attributes: tag.attributes, children: [] };
    const parent = this.open.at(-1);
    if (parent !== undefined) {
      parent.children.push(element);
      this.open.push(element);
    } else if (ARTICLE_NAMES.has(tag.name)) {
      this.articles += 1;
      this.articleError = undefined;
      this.open.push(element);
    } else {
      if (this.depthOutside === 0 && !ROOT_NAMES.has(tag.name)) this.fail(`not PubMed XML: the root element is <${tag.name}>, expected <PubmedArticleSet> or <MedlineCitationSet>`);
      this.depthOutside += 1;
    }
  }

  private closeElement(): void {
    if (this.failure !== undefined) return;
    const element = this.open.pop();
    if (element === undefined) {
      this.depthOutside -= 1;
      return;
    }
    if (this.open.length > 0) return;
    const record = this.articles;
    this.ready.push(this.articleError === undefined ? this.toRecord(element, record) : { record, error: this.articleError });
  }

  private addText(text: string): void {
    if (this.failure === undefined) this.open.at(-1)?.children.push(text);
  }

  private fail(detail: string): void {
    this.fileError ??= new InvalidInputError(detail, [{ pointer: `/lines/${this.parser.line}`, detail }]);
  }
}
