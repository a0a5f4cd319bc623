import { createRoute, z } from '@hono/zod-openapi';
import { servedModelName, type AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, errorResponses } from '../http/common-schemas.js';
import { NotFoundError } from '../lib/errors.js';

const TokenizerResponse = z
  .object({
    model: z.string(),
    max_tokens: z.number().int().describe('Tokens the model reads per input, special tokens included; a longer query is truncated'),
    query_prefix: z.string().describe('Text put before every search query (the model\'s query prompt)'),
    tokenizer: z.record(z.string(), z.unknown()).describe('tokenizer.json (Hugging Face tokenizers format), padding and truncation off'),
    tokenizer_config: z.record(z.string(), z.unknown()).describe('tokenizer_config.json'),
  })
  .openapi('TokenizerFiles');

/**
 * GET /v1/tokenizer: the served model's tokenizer for a browser tokenizer (@huggingface/tokenizers),
 * so the web app counts a query's tokens as POST /tokenize does. A checkpoint with only
 * vocab.json + merges.txt or vocab.txt gets the tokenizer.json the server builds and runs.
 */
export function registerTokenizerRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/tokenizer', tags: ['embeddings'], summary: 'The served model\'s tokenizer.json and tokenizer_config.json, for tokenizing in a browser',
      responses: { 200: { content: { 'application/json': { schema: TokenizerResponse } }, description: 'The tokenizer files' }, ...authErrorResponses, 404: errorResponses[404] },
    }),
    (c) => {
      const files = deps.embedder.tokenizerFiles?.();
      // The hash double has no vocabulary to expose.
      if (!files) throw new NotFoundError('tokenizer for', deps.embedder.info.modelId);
      const { info } = deps.embedder;
      c.header('cache-control', 'private, max-age=300');
      return c.json({ model: servedModelName(deps), max_tokens: info.maxTokens, query_prefix: info.prompts.query, tokenizer: files.tokenizer, tokenizer_config: files.config }, 200);
    },
  );
}
