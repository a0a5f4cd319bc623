import { createRoute, z } from '@hono/zod-openapi';
import { servedModelName, type AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, jsonBodyErrorResponses } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { InvalidInputError } from '../lib/errors.js';
import { embedPointed, MAX_INPUTS, Text } from './embed-shared.js';

const EOS1086_MODEL = 'allenai/biomed_roberta_base';
// ersilia-pack's request shapes: plain inputs, or records with an optional key (its own
// extract_input takes `input` and drops the rest).
const RunItem = z.union([Text, z.object({ key: z.string().optional(), input: Text })]);
const Orient = z.enum(['records', 'split', 'index', 'columns', 'values']);
const Row = z.record(z.string(), z.number());
const RunResponse = z.union([
  z.object({ result: z.array(z.object({ key: z.string().optional(), input: z.string(), outcome: z.array(z.number()) })) }),
  z.array(Row),
  z.object({ columns: z.array(z.string()), index: z.array(z.string()), data: z.array(z.array(z.number())) }),
  z.record(z.string(), Row),
  z.array(z.array(z.number())),
]);

/** Output column names, as `biovec run` writes them (dim_000…). */
function columnsFor(dims: number): string[] {
  const width = Math.max(3, String(dims - 1).length);
  return Array.from({ length: dims }, (_, i) => `dim_${String(i).padStart(width, '0')}`);
}

/** ersilia-pack's orient_to_json: pandas' orients over rows indexed by input. */
function orientRows(rows: number[][], columns: string[], index: string[], orient: z.infer<typeof Orient>) {
  const record = (row: number[]) => Object.fromEntries(columns.map((c, j) => [c, row[j]!]));
  switch (orient) {
    case 'records': return rows.map(record);
    case 'split': return { columns, index, data: rows };
    case 'index': return Object.fromEntries(index.map((k, i) => [k, record(rows[i]!)]));
    case 'columns': return Object.fromEntries(columns.map((c, j) => [c, Object.fromEntries(index.map((k, i) => [k, rows[i]![j]!]))]));
    case 'values': return rows;
  }
}

/** Keyed by input, a repeated input would silently drop a row (pandas refuses it too: its index must be unique). */
function refuseRepeatedInputs(inputs: string[], orient: string): void {
  const seen = new Map<string, number>();
  const issues = inputs.flatMap((input, i) => {
    const first = seen.get(input);
    if (first === undefined) seen.set(input, i);
    return first === undefined ? [] : [{ pointer: `/${i}`, detail: `repeats input ${first}` }];
  });
  if (issues.length > 0) throw new InvalidInputError(`orient=${orient} keys rows by input, so inputs must be distinct; use orient=split, records or values`, issues.slice(0, 100));
}

/** Ersilia-style POST /run (both the BentoML and the ersilia-pack shapes) and GET /card. */
export function registerErsiliaRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/run', tags: ['embeddings'], middleware: [requireUtf8Body],
      summary: 'Ersilia-style run: ["text", …] or [{"key", "input"}]; without orient {"result": [{"input", "outcome"}]}, with orient ersilia-pack\'s oriented table',
      request: {
        query: z.object({ orient: Orient.optional().describe('ersilia-pack\'s output orient (columns dim_000…, index = the inputs); omitted: the {"result": […]} shape') }),
        body: { content: { 'application/json': { schema: z.array(RunItem).min(1).max(MAX_INPUTS).openapi('ErsiliaRun') } }, required: true },
      },
      responses: { 200: { content: { 'application/json': { schema: RunResponse } }, description: 'Outcomes in input order' }, ...authErrorResponses, ...jsonBodyErrorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const items = body.map((i) => (typeof i === 'string' ? { input: i } : i));
      const { orient } = c.req.valid('query');
      const out = await embedPointed(deps, items.map((i) => i.input), '', { signal: c.req.raw.signal }, (i) => (typeof body[i] === 'string' ? '' : '/input'));
      const rows = out.map((e) => Array.from(e.vector));
      if (orient === 'index' || orient === 'columns') refuseRepeatedInputs(items.map((i) => i.input), orient);
      if (orient) return c.json(orientRows(rows, columnsFor(deps.embedder.info.dims), items.map((i) => i.input), orient), 200);
      return c.json({ result: items.map((item, i) => ({ ...(item.key === undefined ? {} : { key: item.key }), input: item.input, outcome: rows[i]! })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/card', tags: ['embeddings'], summary: 'Ersilia model card: eos1086\'s identifiers, and the model this server runs',
      responses: { 200: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('ErsiliaCard') } }, description: 'The card' }, ...authErrorResponses },
    }),
    (c) => c.json(cardFor(deps), 200),
  );
}

/** eos1086's metadata (ersilia-os/eos1086 metadata.json), plus what this server actually serves. */
function cardFor(deps: AppDeps): Record<string, unknown> {
  const { modelId, dims } = deps.embedder.info;
  return {
    Identifier: 'eos1086',
    Slug: 'embeddings-extraction',
    Title: 'Biomed Roberta Base',
    Description: 'BioMed-RoBERTa-base embeddings (the CLS token of the last hidden state), served by biovec.',
    Mode: 'Pretrained',
    Task: 'Representation',
    Input: 'Text',
    'Input Shape': 'Single',
    Output: 'Other Value',
    'Output Type': 'Float',
    'Output Shape': 'List',
    'Output Dimension': dims,
    'Output Columns': columnsFor(dims),
    Tag: ['Embedding'],
    Publication: 'https://aclanthology.org/2020.acl-main.740/',
    'Source Code': `https://huggingface.co/${EOS1086_MODEL}`,
    License: 'Apache License 2.0',
    // Honest when another model is served (a test fixture, a user's --model): the vectors are then not eos1086's.
    'Served Model': servedModelName(deps),
    'Is Eos1086 Model': modelId === EOS1086_MODEL,
  };
}
