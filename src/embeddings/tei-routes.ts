import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { normalizeL2 } from '../embedding/pooling.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, errorResponses, jsonBodyErrorResponses } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { InvalidInputError, NotFoundError } from '../lib/errors.js';
import { asList, embedPointed, Inputs, MAX_INPUTS, PromptName, promptFor, withPointers } from './embed-shared.js';

// Strict: TEI's clients send options by name, and a misspelt one silently ignored would give
// other vectors than asked for (issue 12), so an unknown key is a 422 that names it.
const embedFields = {
  inputs: Inputs,
  truncate: z.boolean().default(false).describe('false: an input over the model\'s token limit is refused (422); true: cut to the limit'),
  // TEI spells it Left/Right; huggingface_hub's InferenceClient sends left/right.
  truncation_direction: z.enum(['Left', 'Right', 'left', 'right']).default('Right').describe('With truncate=true: Right cuts the end of the text, Left its start'),
  prompt_name: PromptName.optional().describe('Put the model\'s query or document prompt before each input (as TEI\'s prompt_name)'),
};
const EmbedRequest = z.object({ ...embedFields, normalize: z.boolean().optional() }).strict().openapi('EmbedRequest');
// TEI's /embed_all body: /embed's without normalize (hidden states are given as the model makes them).
const EmbedAllRequest = z.object(embedFields).strict().openapi('EmbedAllRequest');
// Bounds /embed_all's answer (tokens × dims over all inputs): 16 inputs of 512 tokens at 1024
// dims, about 90 MB of JSON. Past it the request is refused (413) before inference.
export const MAX_EMBED_ALL_VALUES = 16 * 512 * 1024;

const SimpleToken = z.object({ id: z.number().int(), text: z.string(), special: z.boolean(), start: z.number().int().nullable(), stop: z.number().int().nullable() });
// The schema bounds what an id can be; the model's vocabulary, known at run time, bounds it further (422).
const TokenIds = z.array(z.number().int().min(0).max(2 ** 31 - 1)).max(100_000);
// The hash double has no vocabulary to expose.
const noTokenizer = (deps: AppDeps) => new NotFoundError('tokenizer for', deps.embedder.info.modelId);
const noTokenOutput = (deps: AppDeps) => new NotFoundError('token-level output for', deps.embedder.info.modelId);

/** TEI-style embedding routes: POST /embed, and POST / (where huggingface_hub's InferenceClient posts). */
export function registerTeiRoutes(app: App, deps: AppDeps): void {
  for (const path of ['/embed', '/'] as const) {
    app.openapi(
      createRoute({
        method: 'post', path, tags: ['embeddings'], middleware: [requireUtf8Body],
        summary: path === '/' ? 'TEI feature extraction (what huggingface_hub InferenceClient(base_url).feature_extraction posts): as /embed' : 'TEI-style embeddings: an array of vectors',
        request: { body: { content: { 'application/json': { schema: EmbedRequest } }, required: true } },
        responses: { 200: { content: { 'application/json': { schema: z.array(z.array(z.number())) } }, description: 'One vector per input' }, ...authErrorResponses, ...jsonBodyErrorResponses },
      }),
      async (c) => {
        const body = c.req.valid('json');
        const truncationDirection = body.truncation_direction.toLowerCase() as 'left' | 'right';
        const out = await embedPointed(deps, asList(body.inputs), '/inputs', { truncate: body.truncate, truncationDirection, signal: c.req.raw.signal, prefix: promptFor(deps, body.prompt_name) });
        const normalize = body.normalize ?? deps.embedder.info.normalize;
        return c.json(out.map((e) => Array.from(normalize && !deps.embedder.info.normalize ? normalizeL2(e.vector) : e.vector)), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post', path: '/embed_all', tags: ['embeddings'], middleware: [requireUtf8Body],
      summary: `TEI-style embed_all: every token's last hidden state (special tokens included, no padding, not normalized) per input; refused (413) past ${MAX_EMBED_ALL_VALUES} values (tokens × dims over all inputs)`,
      request: { body: { content: { 'application/json': { schema: EmbedAllRequest } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.array(z.array(z.array(z.number()))) } }, description: 'Per input, one vector per token' }, 404: errorResponses[404], ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      if (!deps.embedder.embedTokens) throw noTokenOutput(deps);
      const truncationDirection = body.truncation_direction.toLowerCase() as 'left' | 'right';
      const opts = { truncate: body.truncate, truncationDirection, signal: c.req.raw.signal, prefix: promptFor(deps, body.prompt_name), maxValues: MAX_EMBED_ALL_VALUES };
      const out = await withPointers('/inputs', () => deps.embedder.embedTokens!(asList(body.inputs), { priority: 'interactive', ...opts }));
      const dims = deps.embedder.info.dims;
      return c.json(out.map((e) => Array.from({ length: e.tokens }, (_, t) => Array.from(e.vectors.subarray(t * dims, (t + 1) * dims)))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/tokenize', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'TEI-style tokenize: the model\'s tokens of each input, with their [start, stop) in UTF-16 indices',
      request: { body: { content: { 'application/json': { schema: z.object({ inputs: Inputs, add_special_tokens: z.boolean().default(true) }).strict().openapi('TokenizeRequest') } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.array(z.array(SimpleToken)) } }, description: 'One token list per input' }, 404: errorResponses[404], ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      if (!deps.embedder.tokenize) throw noTokenizer(deps);
      return c.json(await deps.embedder.tokenize(asList(body.inputs), { addSpecialTokens: body.add_special_tokens }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/decode', tags: ['embeddings'], middleware: [requireUtf8Body], summary: 'TEI-style decode: token ids back to text',
      request: { body: { content: { 'application/json': { schema: z.object({ ids: z.union([TokenIds, z.array(TokenIds).min(1).max(MAX_INPUTS)]), skip_special_tokens: z.boolean().default(true) }).strict().openapi('DecodeRequest') } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.array(z.string()) } }, description: 'One text per id list' }, 404: errorResponses[404], ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      if (!deps.embedder.decode) throw noTokenizer(deps);
      const isNested = Array.isArray(body.ids[0]);
      const ids = isNested ? (body.ids as number[][]) : [body.ids as number[]];
      try {
        return c.json(await deps.embedder.decode(ids, { skipSpecialTokens: body.skip_special_tokens }), 200);
      } catch (err) {
        // The port's /i/j pointers, as the request spells them.
        if (err instanceof InvalidInputError && !isNested) throw new InvalidInputError(err.detail, err.issues.map((i) => ({ ...i, pointer: `/ids${i.pointer.replace(/^\/0/, '')}` })));
        if (err instanceof InvalidInputError) throw new InvalidInputError(err.detail, err.issues.map((i) => ({ ...i, pointer: `/ids${i.pointer}` })));
        throw err;
      }
    },
  );
}
