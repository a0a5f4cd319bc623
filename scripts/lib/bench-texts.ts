import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FIXTURES, SHARED_DIR } from '../../test/helpers/fixtures.js';

/**
 * Abstract-length texts of varied length: real SciFact abstracts (title + text) from
 * ../shared when present, else the committed parity strings glued into abstract-sized runs.
 */
export async function loadBenchTexts(count: number): Promise<{ texts: string[]; source: string; isFallback: boolean }> {
  const scifact = join(SHARED_DIR, 'data', 'scifact', 'corpus.jsonl.gz');
  if (existsSync(scifact)) {
    const lines = gunzipSync(await readFile(scifact)).toString('utf8').split('\n').filter(Boolean);
    const docs = lines.map((l) => JSON.parse(l) as { title: string; text: string });
    // Every k-th document: a spread of lengths, the same set every run.
    const step = Math.max(1, Math.floor(docs.length / count));
    const texts = Array.from({ length: count }, (_, i) => docs[(i * step) % docs.length]!).map((d) => `${d.title} ${d.text}`.trim());
    return { texts, source: 'scifact corpus (../shared)', isFallback: false };
  }
  const strings = (JSON.parse(await readFile(join(FIXTURES, 'tokenizer-parity', 'strings.json'), 'utf8')) as string[]).filter((s) => s.trim().length > 20);
  const texts = Array.from({ length: count }, (_, i) => {
    const parts: string[] = [];
    const target = 400 + ((i * 7919) % 1400); // 400..1800 characters
    for (let j = i; parts.join(' ').length < target; j++) parts.push(strings[j % strings.length]!);
    return parts.join(' ');
  });
  return { texts, source: 'committed parity strings (../shared absent)', isFallback: true };
}
