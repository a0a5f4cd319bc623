import type { Prompts } from '../embedder.js';

/**
 * Prompts of models whose files do not state them, from their model cards (and MTEB's model
 * registry, which evaluates them this way). Matched on the repository or directory name, so a
 * local copy named like the hub repo gets them too.
 */
const KNOWN: { name: RegExp; prompts: Prompts }[] = [
  {
    // BAAI/bge-{small,base,large}-en(-v1.5), an instruction before short queries:
    // https://huggingface.co/BAAI/bge-small-en-v1.5#using-sentence-transformers
    name: /^bge-(small|base|large)-en(-v1\.5)?$/i,
    prompts: { query: 'Represent this sentence for searching relevant passages: ', document: '' },
  },
  {
    // https://huggingface.co/BAAI/bge-small-zh-v1.5
    name: /^bge-(small|base|large)-zh(-v1\.5)?$/i,
    prompts: { query: '为这个句子生成表示以用于检索相关文章：', document: '' },
  },
  {
    // intfloat/e5-*: "query: " and "passage: " on every input, or quality drops:
    // https://huggingface.co/intfloat/e5-small-v2#faq
    name: /^(multilingual-)?e5-(small|base|large)(-v2)?$/i,
    prompts: { query: 'query: ', document: 'passage: ' },
  },
];

/** The documented prompts of a known model, by hub id or directory path; undefined for others. */
export function knownPrompts(modelId: string): Prompts | undefined {
  const name = modelId.replace(/[\\/]+$/, '').split(/[\\/]/).at(-1) ?? '';
  return KNOWN.find((k) => k.name.test(name))?.prompts;
}
