import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { EmbedOptions } from '../embedding/embedder.js';
import { normalizeL2 } from '../embedding/pooling.js';
import type { App } from '../http/app-env.js';
import { requireUtf8Body } from '../http/validation.js';
import { authErrorResponses, jsonBodyErrorResponses, storableString } from '../http/common-schemas.js';
import { InvalidInputError } from '../lib/errors.js';

const MAX_INPUTS = 2048;
// Refused here, as by /documents: U+0000, invalid Unicode, blank text (pointer names the input).
const Text = storableString({ notBlank: true });
const Inputs = z.union([Text, z.array(Text).min(1).max(MAX_INPUTS)]);
const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const EmbeddingBody = z.union([z.array(z.number()), z.string()]);
const PromptName = z.enum(['query', 'document']);
/** The model's prompt for that role ('' for models without one). */
const promptFor = (deps: AppDeps, name: 'query' | 'document' | undefined) => (name ? deps.embedder.info.prompts[name] : undefined);

/** OpenAI-compatible, TEI-style and Ersilia-style embedding endpoints over the served model. */
export function registerEmbeddingRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/embeddings', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'OpenAI-compatible embeddings (float or base64)',
      request: { body: { content: { 'application/json': { schema: z.object({ input: Inputs, model: z.string().optional(), encoding_format: z.enum(['float', 'base64']).default('float'), dimensions: z.number().int().optional(), user: z.string().optional(),
        input_type: PromptName.optional().describe('Embed as a search query or a document, with the model\'s prompt for that role (bge puts an instruction before queries); omitted: the text as is') }).openapi('EmbeddingsRequest') } }, required: true } },
      responses: {
        200: { content: { 'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(z.object({ object: z.literal('embedding'), index: z.number().int(), embedding: EmbeddingBody })), model: z.string(), usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }) }) } }, description: 'Embeddings in input order' },
        ...authErrorResponses, ...jsonBodyErrorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      if (body.model !== undefined && body.model !== deps.embedder.info.modelId) {
        throw new InvalidInputError(`this server serves ${deps.embedder.info.modelId}, not ${body.model}`, [{ pointer: '/model', detail: `use "${deps.embedder.info.modelId}" or omit it` }]);
      }
      if (body.dimensions !== undefined && body.dimensions !== deps.embedder.info.dims) {
        throw new InvalidInputError(`${deps.embedder.info.modelId} gives ${deps.embedder.info.dims}-dimensional vectors; other sizes are not supported`, [{ pointer: '/dimensions', detail: `must be ${deps.embedder.info.dims} or omitted` }]);
      }
      const out = await embedPointed(deps, asList(body.input), '/input', { signal: c.req.raw.signal, prefix: promptFor(deps, body.input_type) });
      const tokens = out.reduce((s, e) => s + e.tokens, 0);
      return c.json({
        object: 'list' as const,
        data: out.map((e, index) => ({ object: 'embedding' as const, index, embedding: body.encoding_format === 'base64' ? Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength).toString('base64') : Array.from(e.vector) })),
        model: deps.embedder.info.modelId,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/embed', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'TEI-style embeddings: an array of vectors',
      request: { body: { content: { 'application/json': { schema: z.object({ inputs: Inputs, normalize: z.boolean().optional(), truncate: z.boolean().default(false),
        prompt_name: PromptName.optional().describe('Put the model\'s query or document prompt before each input (as TEI\'s prompt_name)') }).openapi('EmbedRequest') } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.array(z.array(z.number())) } }, description: 'One vector per input' }, ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const out = await embedPointed(deps, asList(body.inputs), '/inputs', { truncate: body.truncate, signal: c.req.raw.signal, prefix: promptFor(deps, body.prompt_name) });
      const normalize = body.normalize ?? deps.embedder.info.normalize;
      return c.json(out.map((e) => Array.from(normalize && !deps.embedder.info.normalize ? normalizeL2(e.vector) : e.vector)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/run', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'Ersilia-style run: [{"input": text}] → {"result": [{"outcome": [...]}]}',
      request: { body: { content: { 'application/json': { schema: z.array(z.object({ input: Text })).min(1).max(MAX_INPUTS).openapi('ErsiliaRun') } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.object({ result: z.array(z.object({ input: z.string(), outcome: z.array(z.number()) })) }) } }, description: 'Outcomes in input order' }, ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const items = c.req.valid('json');
      const out = await embedPointed(deps, items.map((i) => i.input), '', { signal: c.req.raw.signal }, '/input');
      return c.json({ result: out.map((e, i) => ({ input: items[i]!.input, outcome: Array.from(e.vector) })) }, 200);
    },
  );
}

/** Embeds at interactive priority; rewrites the embedder's `/i` pointers to the request's field names. */
async function embedPointed(deps: AppDeps, texts: string[], base: string, opts: Pick<EmbedOptions, 'truncate' | 'signal' | 'prefix'>, suffix = '') {
  try {
    return await deps.embedder.embed(texts, { priority: 'interactive', ...opts });
  } catch (err) {
    if (err instanceof InvalidInputError) {
      const issues = err.issues.map((i) => ({ ...i, pointer: `${base}${i.pointer}${suffix}` }));
      throw new InvalidInputError(issues.map((i) => `${i.pointer} ${i.detail}`).slice(0, 3).join('; ') || err.detail, issues);
    }
    throw err;
  }
}
