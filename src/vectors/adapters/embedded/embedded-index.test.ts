import { mkdtemp, rm, readdir, stat, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lib/errors.js';
import { runVectorIndexContract } from '../../contract.case.js';
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
