import { z } from '@hono/zod-openapi';

/** One document as clients send it. `text` may also be called `body` or `abstract`. */
export const DocumentInputSchema = z
  .object({
    id: z.union([z.string().min(1).max(512), z.number().int().nonnegative()]).transform(String).openapi({ example: '29768149' }),
    title: z.string().nullable().optional(),
    text: z.string().optional(),
    body: z.string().optional(),
    abstract: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional().openapi({ example: { journal: 'Cell', year: 2018 } }),
    labels: z.array(z.string().min(1)).max(1000).optional(),
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
  .object({ title: z.string().nullable().optional(), text: z.string().optional(), metadata: z.record(z.string(), z.unknown()).optional(), labels: z.array(z.string().min(1)).optional() })
  .openapi('DocumentPatch');
