import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SHARED_DIR } from '../../test/helpers/fixtures.js';

/**
 * Biomedical texts for int8-vs-fp32 gates: half SciFact abstracts (long), half ChemProt
 * sentences (short, entity-marked), every k-th so the set is the same each run. Throws when
 * ../shared is absent: a gate measured on other texts would not be the gate.
 */
export async function loadGateTexts(count: number): Promise<string[]> {
  const scifact = join(SHARED_DIR, 'data', 'scifact', 'corpus.jsonl.gz');
  const chemprot = join(SHARED_DIR, 'data', 'chemprot', 'test.txt');
  if (!existsSync(scifact) || !existsSync(chemprot)) throw new Error(`gate texts need ${scifact} and ${chemprot}`);
  const docs = gunzipSync(await readFile(scifact)).toString('utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { title: string; text: string }).map((d) => `${d.title} ${d.text}`.trim());
  const sentences = (await readFile(chemprot, 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  const half = Math.ceil(count / 2);
  const pick = (all: string[], n: number) => Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
  return [...pick(docs, half), ...pick(sentences, count - half)];
}
