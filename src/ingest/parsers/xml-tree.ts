/**
 * A minimal element tree for one PubMed article: the SAX stream is turned into a tree one
 * article at a time, so field extraction can use paths while memory stays bounded by the
 * largest article.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

/** The element reached by taking the first child with each name in turn; `child(a, 'B', 'C')` is a/B[1]/C[1]. */
export function child(element: XmlElement | undefined, ...path: string[]): XmlElement | undefined {
  let current = element;
  for (const name of path) {
    current = current?.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === name);
  }
  return current;
}

/** Every child element with the given name, in document order. */
export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  if (!element) return [];
  return element.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}

/**
 * All text inside an element, inline markup (`<i>`, `<sup>`) flattened and whitespace runs
 * (pretty-printing included) collapsed to one space; '' when the element is absent.
 */
export function textOf(element: XmlElement | undefined): string {
  if (!element) return '';
  const parts: string[] = [];
  // An explicit stack: nesting depth comes from the input, so recursion could overflow.
  const stack: XmlNode[] = [...element.children].reverse();
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (typeof node === 'string') parts.push(node);
    else for (let i = node.children.length - 1; i >= 0; i -= 1) stack.push(node.children[i] as XmlNode);
  }
  return normaliseSpace(parts.join(''));
}

/** Collapses whitespace runs to one space and trims. */
export function normaliseSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
