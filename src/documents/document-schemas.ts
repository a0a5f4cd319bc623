import { z } from '@hono/zod-openapi';
import { MetadataSchema, storableString } from '../http/common-schemas.js';

const Label = storableString().min(1);

/** One document as clients send it. `text` may also be called `abstract` or `body` (tried in that order, as imports do). */
export const DocumentInputSchema = z
  .object({
    id: z.union([storableString().min(1).max(512), z.number().int().nonnegative()]).transform(String).openapi({ example: '29768149' }),
    title: storableString().nullable().optional(),
    text: storableString().optional(),
    body: storableString().optional(),
    abstract: storableString().optional(),
    metadata: MetadataSchema.optional(),
    labels: z.array(Label).max(1000).optional(),
  })
  .refine((d) => [d.title, d.text, d.body, d.abstract].some((t) => typeof t === 'string' && t.trim() !== ''), { message: 'a document needs a title or text', path: ['text'] })
  .openapi('DocumentInput');

export type DocumentInputBody = z.infer<typeof DocumentInputSchema>;

export const IngestResultSchema = z
  .object({
    results: z.array(z.object({ id: z.string().nullable(), index: z.number().int(), status: z.enum(['created', 'updated', 'unchanged', 'failed']), chunks: z.number().int().optional(), error: z.string().optional() })),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    failed: z.number().int(),
  })
  .openapi('IngestResult');

export const DocumentSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    text: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    labels: z.array(z.string()),
    chunks: z.array(z.object({ index: z.number().int(), start: z.number().int(), end: z.number().int(), tokens: z.number().int(), vector: z.array(z.number()).optional() })),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Document');

export const PatchDocumentSchema = z
  .object({ title: storableString().nullable().optional(), text: storableString().optional(), metadata: MetadataSchema.optional(), labels: z.array(Label).max(1000).optional() })
  .strict()
  .openapi('DocumentPatch');
