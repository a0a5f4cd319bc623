import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModel, maxAbsDiff, readReference, type Reference } from '../../test/helpers/fixtures.js';
import { loadConfig } from '../config.js';
import { InvalidInputError, ModelError } from '../lib/errors.js';
import { loadEmbedder } from './load-embedder.js';
import type { OnnxEmbedder } from './onnx-embedder.js';
import { poolRow } from './pooling.js';

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'biovec-engine-'));
});
afterAll(async () => rm(cacheDir, { recursive: true, force: true }));

const load = (model: string, flags: Record<string, unknown> = {}) =>
  loadEmbedder(loadConfig({}, { model: fixtureModel(model), cacheDir, threads: 1, hfHubOffline: true, ...flags }));

/** transformers' pooled vector for reference row `row`. */
function expected(ref: Reference, row: number, pooling: 'cls' | 'mean'): Float32Array {
  let length = 0;
  for (let t = 0; t < ref.sequence; t++) length += Number(ref.attentionMask[row * ref.sequence + t]);
  return poolRow({ hidden: ref.hidden, row, sequence: ref.sequence, hiddenSize: ref.hiddenSize, length, pooling });
}

describe.each([
  ['tiny-roberta', 'worker'],
  ['tiny-bert', 'inline'],
  ['tiny-bert-onnx', 'worker'],
])('OnnxEmbedder on %s (%s inference): texts in, transformers\' vectors out', (model, inference) => {
  let embedder: OnnxEmbedder;
  let ref: Reference;
  beforeAll(async () => {
    embedder = await load(model, { inference });
    ref = await readReference(fixtureModel(model));
  });
  afterAll(async () => embedder.close());

  it('CLS vectors match the reference within 1e-4, whatever the batch composition', async () => {
    const rows = ref.texts.map((t, i) => [t, i] as const).filter(([t]) => t.trim() !== '');
    const out = await embedder.embed(rows.map(([t]) => t));
    out.forEach((e, k) => {
      expect(maxAbsDiff(e.vector, expected(ref, rows[k]![1], 'cls'))).toBeLessThan(1e-4);
      expect(e.droppedTokens).toBe(0);
    });
    // One at a time (no padding at all) gives the same vectors.
    const single = await embedder.embed([rows[2]![0]]);
    expect(maxAbsDiff(single[0]!.vector, out[2]!.vector)).toBeLessThan(1e-5);
  });

  it('reports its configuration: eos1086 semantics by default (CLS, raw)', () => {
    expect(embedder.info).toMatchObject({ dims: ref.hiddenSize, pooling: 'cls', normalize: false, maxTokens: 128 });
  });
});

describe('OnnxEmbedder options and input checks', () => {
  let embedder: OnnxEmbedder;
  beforeAll(async () => {
    embedder = await load('tiny-roberta', { maxLength: 16 });
  });
  afterAll(async () => embedder.close());

  it('truncates over-long input to max length and says how many tokens it dropped', async () => {
    const long = 'Aspirin irreversibly inhibits cyclooxygenase-1 and -2 in platelets and endothelium.';
    const full = await embedder.tokenizer.encode(long, { addSpecialTokens: true });
    expect(full.ids.length).toBeGreaterThan(16);
    const [e] = await embedder.embed([long]);
    expect(e!.tokens).toBe(16);
    expect(e!.droppedTokens).toBe(full.ids.length - 16);
  });

  it('refuses over-long input when truncate is false, naming the input', async () => {
    const err = await embedder.embed(['short', 'Aspirin irreversibly inhibits cyclooxygenase-1 and -2 in platelets.'], { truncate: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues).toEqual([{ pointer: '/1', detail: expect.stringMatching(/has \d+ tokens, the model takes 16/) }]);
  });

  it('rejects empty, blank, non-string and malformed Unicode input with the offending index', async () => {
    const err = await embedder.embed(['fine', '', '   ', 42, null, 'bad \ud800 surrogate']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues.map((i) => i.pointer)).toEqual(['/1', '/2', '/3', '/4', '/5']);
    const details = (err as InvalidInputError).issues.map((i) => i.detail);
    expect(details).toEqual(['is empty', 'is empty', 'must be a string, got number', 'must be a string, got null', expect.stringMatching(/not valid Unicode/)]);
  });

  it('embeds chunks of a long text without re-tokenizing', async () => {
    const text = Array.from({ length: 6 }, (_, i) => `Patients (n = ${i}) received 10 mg/kg metformin.`).join(' ');
    const chunks = await embedder.chunk(text, { overlapTokens: 4 });
    expect(chunks.length).toBeGreaterThan(1);
    const vectors = await embedder.embedChunks(chunks);
    expect(vectors).toHaveLength(chunks.length);
    const [direct] = await embedder.embed([chunks[1]!.text]);
    // A chunk's text tokenizes back to nearly its window (BPE may differ at the cut), so its
    // vector is close; the first chunk's is exact.
    const [first] = await embedder.embed([chunks[0]!.text]);
    expect(maxAbsDiff(first!.vector, vectors[0]!)).toBeLessThan(1e-4);
    expect(direct!.vector).toHaveLength(vectors[1]!.length);
  });

  it('normalises to unit length when asked, and mean-pools when asked', async () => {
    const normed = await load('tiny-bert', { normalize: 'true', pooling: 'mean' });
    try {
      const [e] = await normed.embed(['TNF-α activates NF-κB']);
      const norm = Math.sqrt(e!.vector.reduce((s, v) => s + v * v, 0));
      expect(norm).toBeCloseTo(1, 5);
      expect(normed.info).toMatchObject({ pooling: 'mean', normalize: true });
    } finally {
      await normed.close();
    }
  });
});

describe('model prompts (query and document prefixes)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'biovec-prompts-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));
  const withFiles = async (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    await cp(fixtureModel('tiny-bert'), dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    return dir;
  };
  const loadDir = (dir: string, flags: Record<string, unknown> = {}) => loadEmbedder(loadConfig({}, { model: dir, cacheDir, threads: 1, ...flags }));

  it('come from config_sentence_transformers.json, and a prefix embeds as if typed before the text', async () => {
    const dir = await withFiles('tiny', { 'config_sentence_transformers.json': JSON.stringify({ prompts: { query: 'query: ', passage: 'passage: ' } }) });
    const embedder = await loadDir(dir);
    try {
      expect(embedder.info.prompts).toEqual({ query: 'query: ', document: 'passage: ' });
      const [prefixed, typed] = await Promise.all([
        embedder.embed(['EGFR inhibitors'], { prefix: 'query: ' }),
        embedder.embed(['query: EGFR inhibitors']),
      ]);
      expect(maxAbsDiff(prefixed[0]!.vector, typed[0]!.vector)).toBe(0);
      expect(prefixed[0]!.tokens).toBe(typed[0]!.tokens);
      // Chunks repeat the prompt in every window; a short text's one chunk equals the prefixed text.
      const long = 'gefitinib erlotinib cetuximab '.repeat(40);
      const chunks = await embedder.chunk(long, { prefix: 'passage: ', overlapTokens: 2 });
      const prompt = await embedder.tokenizer.encode('passage: ', { addSpecialTokens: false });
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) {
        expect([...c.ids.subarray(1, 1 + prompt.ids.length)]).toEqual([...prompt.ids]);
        expect(c.ids.length).toBeLessThanOrEqual(embedder.info.maxTokens);
      }
      const [short] = await embedder.chunk('EGFR inhibitors', { prefix: 'passage: ' });
      const [typedPassage] = await embedder.embed(['passage: EGFR inhibitors']);
      expect(maxAbsDiff((await embedder.embedChunks([short!]))[0]!, typedPassage!.vector)).toBeLessThan(1e-6);
    } finally {
      await embedder.close();
    }
  });

  it('come from the model card for known models (bge), and the settings override them', async () => {
    const dir = await withFiles('bge-small-en-v1.5', { 'sentence_bert_config.json': JSON.stringify({ max_seq_length: 64 }) });
    const bge = await loadDir(dir);
    const overridden = await loadDir(dir, { queryPrefix: 'none', documentPrefix: 'Document: ' });
    try {
      expect(bge.info.prompts).toEqual({ query: 'Represent this sentence for searching relevant passages: ', document: '' });
      expect(bge.info.maxTokens).toBe(64); // sentence-transformers' max_seq_length
      expect(overridden.info.prompts).toEqual({ query: '', document: 'Document: ' });
    } finally {
      await Promise.all([bge.close(), overridden.close()]);
    }
    const plain = await load('tiny-bert');
    expect(plain.info.prompts).toEqual({ query: '', document: '' });
    await plain.close();
  });
});

describe('loadEmbedder errors', () => {
  it('refuses a corrupt model.onnx with onnxruntime\'s reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-badonnx-'));
    try {
      await cp(fixtureModel('tiny-bert-onnx'), dir, { recursive: true });
      await writeFile(join(dir, 'onnx', 'model.onnx'), 'this is not a protobuf');
      const err = await loadEmbedder(loadConfig({}, { model: dir, cacheDir, threads: 1 })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).detail).toMatch(/onnxruntime could not load .*model\.onnx/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a max length beyond the model limit', async () => {
    await expect(load('tiny-roberta', { maxLength: 4096 })).rejects.toThrow(/--max-length 4096 exceeds the model's limit of 128/);
  });

  it('explains a directory without weights', async () => {
    await expect(load('tiny-roberta', { weights: 'onnx' })).rejects.toThrow(ModelError);
  });
});
