import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { InvalidInputError } from '../../lib/errors.js';
import type { ParsedRecord } from './parsed-record.js';
import type { XmlElement } from './xml-tree.js';

/** Elements that make one record; MedlineCitation only counts outside a PubmedArticle. */
const ARTICLE_NAMES = new Set(['PubmedArticle', 'PubmedBookArticle', 'MedlineCitation']);
const ROOT_NAMES = new Set(['PubmedArticleSet', 'MedlineCitationSet', 'PubmedBookArticleSet']);
/** PubMed nests about 8 deep; saxes keeps a stack of open tags, so depth is bounded too. */
const MAX_DEPTH = 256;
/** Text is handed to saxes in slices of this many characters, so limits are checked between them. */
const SLICE_CHARS = 64 * 1024;

export type ArticleToRecord = (article: XmlElement, record: number) => ParsedRecord;

/**
 * Feeds XML text to a SAX parser and builds one article's element tree at a time, handing
 * each finished article to `toRecord`. Malformed XML inside an article makes that article an
 * error record and parsing goes on; malformed XML outside any article (not XML, wrong root,
 * truncated) is a file-level failure, kept in `failure` for the caller to throw after it has
 * yielded the records before it. DTD-declared entities are never expanded (saxes ignores
 * the internal subset), so entity-expansion attacks cannot inflate memory.
 *
 * Memory is bounded by `maxRecordChars` (issue 10): an article larger than that becomes an
 * error record and its tree stops growing; saxes buffers one text node, comment, doctype or
 * tag whole, so one of those past the limit (or nesting past MAX_DEPTH) is a file-level
 * failure, as saxes cannot skip it.
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
  /** saxes position at the last event: what it may be buffering starts there. */
  private lastEventAt = 0;
  private articleStartedAt = 0;
  private isArticleTooLarge = false;
  /** Characters given to saxes; its own `position` is right only inside event handlers. */
  private fedChars = 0;

  constructor(
    private readonly toRecord: ArticleToRecord,
    private readonly maxRecordChars: number,
  ) {
    const seen = () => {
      this.lastEventAt = this.parser.position;
    };
    for (const event of ['opentagstart', 'doctype', 'comment', 'processinginstruction'] as const) this.parser.on(event, seen);
    this.parser.on('xmldecl', (decl) => {
      if (decl.encoding !== undefined && !/^utf-?8$/i.test(decl.encoding)) this.fail(`only UTF-8 XML is supported; the file declares ${decl.encoding}`);
    });
    this.parser.on('opentag', (tag) => {
      seen();
      this.openElement(tag);
    });
    this.parser.on('closetag', () => {
      seen();
      this.closeElement();
    });
    this.parser.on('text', (text) => {
      seen();
      this.addText(text);
    });
    this.parser.on('cdata', (text) => {
      seen();
      this.addText(text);
    });
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
    for (let at = 0; at < text.length && this.failure === undefined; at += SLICE_CHARS) {
      const slice = text.slice(at, at + SLICE_CHARS);
      this.parser.write(slice);
      this.fedChars += slice.length;
      this.checkLimits();
    }
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

  private checkLimits(): void {
    const position = this.fedChars;
    if (position - this.lastEventAt > this.maxRecordChars) {
      const where = this.open.length > 0 ? `in article ${this.articles}` : `after article ${this.articles}`;
      this.fail(`one XML text, tag or comment ${where} is longer than ${this.maxRecordChars} characters (BIOVEC_MAX_RECORD_BYTES); the file cannot be read past it`);
    } else if (this.open.length > 0 && !this.isArticleTooLarge && position - this.articleStartedAt > this.maxRecordChars) {
      this.isArticleTooLarge = true;
      this.articleError ??= `the article is larger than ${this.maxRecordChars} characters (BIOVEC_MAX_RECORD_BYTES)`;
      // Its tree is dropped now; the elements stay on the stack only to match their end tags.
      for (const element of this.open) element.children = [];
    }
  }

  private openElement(tag: SaxesTagPlain): void {
    if (this.failure !== undefined) return;
    if (this.open.length + this.depthOutside >= MAX_DEPTH) {
      this.fail(`the XML nests deeper than ${MAX_DEPTH} elements (article ${this.articles})`);
      return;
    }
    const element: XmlElement = { name: tag.name, attributes: tag.attributes, children: [] };
    const parent = this.open.at(-1);
    if (parent !== undefined) {
      if (!this.isArticleTooLarge) parent.children.push(element);
      this.open.push(element);
    } else if (ARTICLE_NAMES.has(tag.name)) {
      this.articles += 1;
      this.articleError = undefined;
      this.isArticleTooLarge = false;
      this.articleStartedAt = this.parser.position;
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
    if (this.failure === undefined && !this.isArticleTooLarge) this.open.at(-1)?.children.push(text);
  }

  private fail(detail: string): void {
    this.fileError ??= new InvalidInputError(detail, [{ pointer: `/lines/${this.parser.line}`, detail }]);
  }
}
