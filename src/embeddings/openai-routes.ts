import { createRoute, z } from '@hono/zod-openapi';
import { servedModelName, type AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, jsonBodyErrorResponses } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { InvalidInputError } from '../lib/errors.js';
import { embedPointed, MAX_INPUTS, PromptName, promptFor, Text } from './embed-shared.js';

const TokenIds = z.array(z.number().int());
// Token ids are part of OpenAI's schema; they are accepted by validation only to be refused
// with a reason (see refuseTokenIds).
const OpenAiInput = z.union([Text, z.array(Text).min(1).max(MAX_INPUTS), TokenIds.min(1), z.array(TokenIds).min(1).max(MAX_INPUTS)])
  .describe('A text or a list of texts. Token ids (a list of integers, or of lists) are refused with 422: see README');
const EmbeddingBody = z.union([z.array(z.number()), z.string()]);
const Usage = z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int(),
  dropped_tokens: z.number().int().optional().describe('With truncate=true: tokens cut off over-long inputs (absent when none were)') });
const ModelCard = z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() }).openapi('OpenAiModel');

/**
 * LangChain's OpenAIEmbeddings (check_embedding_ctx_length=True, its default) sends tiktoken
 * ids, which mean other words in this model's vocabulary: embedded as given they would give a
 * wrong vector without any error, so they are refused with what to set instead.
 */
function refuseTokenIds(input: unknown): asserts input is string | string[] {
  const isIds = (Array.isArray(input) && typeof input[0] === 'number') || (Array.isArray(input) && Array.isArray(input[0]));
  if (!isIds) return;
  const detail = 'token-id input is not supported: ids from another tokenizer (LangChain sends tiktoken ids) would give wrong vectors; send the text instead (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False))';
  throw new InvalidInputError(detail, [{ pointer: '/input', detail: 'send a string or a list of strings, not token ids' }]);
}

/** OpenAI-compatible /v1/embeddings and /v1/models over the one served model. */
export function registerOpenAiRoutes(app: App, deps: AppDeps): void {
  const created = Math.floor(Date.now() / 1000);
  const card = () => ({ id: servedModelName(deps), object: 'model' as const, created, owned_by: 'biovec' });

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/embeddings', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'OpenAI-compatible embeddings (float or base64)',
      request: { body: { content: { 'application/json': { schema: z.object({ input: OpenAiInput,
        model: z.string().optional().describe('Any name: one model is served, and the answer names it (as TEI and Infinity do)'),
        encoding_format: z.enum(['float', 'base64']).default('float'), dimensions: z.number().int().optional(), user: z.string().optional(),
        input_type: PromptName.optional().describe('Embed as a search query or a document, with the model\'s prompt for that role (bge puts an instruction before queries); omitted: the text as is'),
        truncate: z.boolean().default(false).describe('Not in OpenAI\'s API. false: an input over the model\'s token limit is refused (422), as OpenAI does; true: cut to the limit, counted in usage.dropped_tokens') }).openapi('EmbeddingsRequest') } }, required: true } },
      responses: {
        200: { content: { 'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(z.object({ object: z.literal('embedding'), index: z.number().int(), embedding: EmbeddingBody })), model: z.string(), usage: Usage }) } }, description: 'Embeddings in input order' },
        ...authErrorResponses, ...jsonBodyErrorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      refuseTokenIds(body.input);
      if (body.dimensions !== undefined && body.dimensions !== deps.embedder.info.dims) {
        throw new InvalidInputError(`${servedModelName(deps)} gives ${deps.embedder.info.dims}-dimensional vectors; other sizes are not supported`, [{ pointer: '/dimensions', detail: `must be ${deps.embedder.info.dims} or omitted` }]);
      }
      const texts = Array.isArray(body.input) ? body.input : [body.input];
      const out = await embedPointed(deps, texts, '/input', { truncate: body.truncate, signal: c.req.raw.signal, prefix: promptFor(deps, body.input_type) });
      const tokens = out.reduce((s, e) => s + e.tokens, 0);
      const dropped = out.reduce((s, e) => s + e.droppedTokens, 0);
      return c.json({
        object: 'list' as const,
        data: out.map((e, index) => ({ object: 'embedding' as const, index, embedding: body.encoding_format === 'base64' ? Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength).toString('base64') : Array.from(e.vector) })),
        model: servedModelName(deps),
        usage: { prompt_tokens: tokens, total_tokens: tokens, ...(dropped > 0 ? { dropped_tokens: dropped } : {}) },
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/models', tags: ['embeddings'], summary: 'OpenAI-compatible model list: the one served model',
      responses: { 200: { content: { 'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(ModelCard) }) } }, description: 'The served model' }, ...authErrorResponses },
    }),
    (c) => c.json({ object: 'list' as const, data: [card()] }, 200),
  );
}
