import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { EmbedOptions } from '../embedding/embedder.js';
import { storableString } from '../http/common-schemas.js';
import { InvalidInputError } from '../lib/errors.js';

export const MAX_INPUTS = 2048;
// Refused here, as by /documents: U+0000, invalid Unicode, blank text (pointer names the input).
export const Text = storableString({ notBlank: true });
export const Inputs = z.union([Text, z.array(Text).min(1).max(MAX_INPUTS)]);
export const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
export const PromptName = z.enum(['query', 'document']);

/** The model's prompt for that role ('' for models without one). */
export const promptFor = (deps: AppDeps, name: 'query' | 'document' | undefined) => (name ? deps.embedder.info.prompts[name] : undefined);

/** Embeds at interactive priority; rewrites the embedder's `/i` pointers to the request's field names. */
export function embedPointed(deps: AppDeps, texts: string[], base: string, opts: Pick<EmbedOptions, 'truncate' | 'truncationDirection' | 'signal' | 'prefix'>, suffix: string | ((index: number) => string) = '') {
  return withPointers(base, () => deps.embedder.embed(texts, { priority: 'interactive', ...opts }), suffix);
}

/** Runs an embedder call, rewriting the `/i` pointers of its InvalidInputError to the request's field names. */
export async function withPointers<T>(base: string, call: () => Promise<T>, suffix: string | ((index: number) => string) = ''): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof InvalidInputError) {
      const suffixOf = (pointer: string) => (typeof suffix === 'string' ? suffix : suffix(Number(pointer.slice(1))));
      const issues = err.issues.map((i) => ({ ...i, pointer: `${base}${i.pointer}${suffixOf(i.pointer)}` }));
      throw new InvalidInputError(issues.map((i) => `${i.pointer} ${i.detail}`).slice(0, 3).join('; ') || err.detail, issues);
    }
    throw err;
  }
}
