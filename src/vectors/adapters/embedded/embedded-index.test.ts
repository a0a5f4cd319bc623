import { mkdtemp, rm, readdir, stat, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lib/errors.js';
import { runVectorIndexContract } from '../../contract.case.js';
import { runLexicalContract } from '../../contract-lexical.case.js';
import { pointId } from '../../point-id.js';
import { EmbeddedIndex } from './embedded-index.js';

runVectorIndexContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'biovec-embedded-'));
  const subject = {
    index: await EmbeddedIndex.openAt(dir),
    reopen: async () => {
      await subject.index.close();
      subject.index = await EmbeddedIndex.openAt(dir);
      return subject.index;
    },
    loseCollection: (name: string) => rm(join(dir, 'collections', name), { recursive: true, force: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return subject;
});

function embeddedSubject(prefix: string, tuning: Parameters<typeof EmbeddedIndex.openAt>[1] = {}) {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    const subject = {
      index: await EmbeddedIndex.openAt(dir, tuning),
      reopen: async () => {
        await subject.index.close();
        subject.index = await EmbeddedIndex.openAt(dir, tuning);
        return subject.index;
      },
      loseCollection: (name: string) => rm(join(dir, 'collections', name), { recursive: true, force: true }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
    return subject;
  };
}

runLexicalContract('embedded', embeddedSubject('biovec-lexical-'));
// Compaction after every write or two: the term vectors go through snapshots as well as the log.
runLexicalContract('embedded (compaction every few writes)', embeddedSubject('biovec-lexical-compact-', { compactAfterBytes: 512 }));

// The same suite with tiny thresholds, so the approximate (HNSW) path, snapshots and log
// compaction all run under the contract too.
runVectorIndexContract('embedded (HNSW path, compaction every few writes)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'biovec-embedded-ann-'));
  const tuning = { exactLimit: 0, compactAfterBytes: 4096, expansionSearch: 512 };
  const subject = {
    index: await EmbeddedIndex.openAt(dir, tuning),
    reopen: async () => {
      await subject.index.close();
      subject.index = await EmbeddedIndex.openAt(dir, tuning);
      return subject.index;
    },
    loseCollection: (name: string) => rm(join(dir, 'collections', name), { recursive: true, force: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return subject;
});

describe('EmbeddedIndex durability', () => {
  const vec = (x: number) => Float32Array.from([x, 1 - x, 0.5, 0.25]);

  it('refuses a second live process and takes over a dead one\'s lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-lock-'));
    try {
      const first = await EmbeddedIndex.openAt(dir);
      const { writeFile } = await import('node:fs/promises');
      await first.close();
      // A lock left by a process that no longer exists (pid 2^22 + 1 is never a live pid here).
      await writeFile(join(dir, 'LOCK'), String(4194305));
      const second = await EmbeddedIndex.openAt(dir);
      await second.close();
      await writeFile(join(dir, 'LOCK'), String(process.ppid));
      await expect(EmbeddedIndex.openAt(dir)).rejects.toBeInstanceOf(ConflictError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops a torn log tail (a crash mid-write) and keeps every acknowledged write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-torn-'));
    try {
      let index = await EmbeddedIndex.openAt(dir);
      await index.ensureCollection({ name: 'c', dims: 4, distance: 'cosine' });
      const points = Array.from({ length: 5 }, (_, i) => ({ id: pointId('c', `d${i}`, 0), vector: vec(i / 5), payload: { i } }));
      await index.upsert('c', points);
      await index.close();
      const collectionDir = join(dir, 'collections', 'c');
      const wal = (await readdir(collectionDir)).find((f) => f.startsWith('wal-'))!;
      const before = (await stat(join(collectionDir, wal))).size;
      await appendFile(join(collectionDir, wal), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 123, 34])); // half a record
      index = await EmbeddedIndex.openAt(dir);
      expect(await index.count('c')).toBe(5);
      expect((await stat(join(collectionDir, wal))).size).toBe(before);
      await index.upsert('c', [{ id: pointId('c', 'd9', 0), vector: vec(0.9), payload: { i: 9 } }]);
      await index.close();
      index = await EmbeddedIndex.openAt(dir);
      expect(await index.count('c')).toBe(6);
      await index.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('EmbeddedIndex HNSW graph under rewrites', () => {
  it('keeps its recall when the same points are written again (a re-sync, the lexical backfill)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-embedded-rewrite-'));
    const index = await EmbeddedIndex.openAt(dir, { exactLimit: 0, expansionSearch: 16, connectivity: 8 });
    try {
      let s = 1086;
      const rnd = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296 - 0.5; };
      const dims = 24;
      const points = Array.from({ length: 3000 }, (_, i) => ({ id: pointId('r', `d${i}`, 0), vector: Float32Array.from({ length: dims }, rnd), payload: { i } }));
      const queries = Array.from({ length: 40 }, () => Float32Array.from({ length: dims }, rnd));
      await index.ensureCollection({ name: 'r', dims, distance: 'cosine' });
      await index.upsert('r', points);
      const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      const exact = queries.map((q) => new Set(points.map((p) => ({ id: p.id, score: p.vector.reduce((a, x, d) => a + x * q[d]!, 0) / norm(p.vector) })).sort((a, b) => b.score - a.score).slice(0, 10).map((h) => h.id)));
      const recall = async () => {
        let found = 0;
        for (const [i, q] of queries.entries()) found += (await index.search('r', { vector: q, k: 10 })).filter((h) => exact[i]!.has(h.id)).length;
        return found / (queries.length * 10);
      };
      const before = await recall();
      for (let round = 0; round < 3; round++) await index.upsert('r', points.map((p) => ({ ...p, payload: { i: p.payload.i, round } })));
      expect(await recall()).toBeGreaterThanOrEqual(before);
      expect((await index.search('r', { vector: points[5]!.vector, k: 1 }))[0]).toMatchObject({ id: points[5]!.id, payload: { round: 2 } });
    } finally {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
