import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixtureModel, maxAbsDiff, readReference } from '../../../test/helpers/fixtures.js';
import { ModelError } from '../../lib/errors.js';
import { EncoderSession } from '../runtime/encoder-session.js';
import { convertCheckpoint } from './convert-checkpoint.js';
import { SafetensorsFile } from './safetensors.js';
import { TorchCheckpoint } from './torch-checkpoint.js';
import { unpickle } from './torch-pickle.js';

// Fixtures from scripts/python/make_torch_fixtures.py: the tiny models' own weights in torch's formats.
const torchFixture = (name: string) => join(FIXTURES, 'torch', name);

async function expectSameTensors(a: { tensorNames(): string[]; readFloat32(n: string): Promise<Float32Array>; info(n: string): { shape: number[] } }, b: SafetensorsFile) {
  const floats = b.tensorNames().filter((n) => b.info(n).dtype !== 'I64');
  expect(a.tensorNames().sort()).toEqual(expect.arrayContaining(floats.sort()));
  for (const name of floats) {
    expect(a.info(name).shape, name).toEqual(b.info(name).shape);
    const [x, y] = [await a.readFloat32(name), await b.readFloat32(name)];
    expect(Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)), name).toBe(0);
  }
}

describe('TorchCheckpoint reads pytorch_model.bin without Python', () => {
  const cases: [string, string][] = [
    ['bert-bin', 'tiny-bert'], // zip format, with shared-storage views and a transposed weight
    ['bert-bin-legacy', 'tiny-bert'], // pre-1.6 stream format
    ['roberta-fp16-bin', 'tiny-roberta-fp16'],
  ];
  for (const [bin, safetensors] of cases) {
    it(`${bin}: every tensor bit-identical to ${safetensors}/model.safetensors`, async () => {
      const a = await TorchCheckpoint.open(join(torchFixture(bin), 'pytorch_model.bin'));
      const b = await SafetensorsFile.open(join(fixtureModel(safetensors), 'model.safetensors'));
      try {
        await expectSameTensors(a, b);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
});

describe('the restricted unpickler refuses anything but a state dict', () => {
  const pickle = (body: string) => Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(body, 'latin1'), Buffer.from('.')]);
  const load = (bytes: Uint8Array) =>
    unpickle(bytes, { source: 'evil.bin', persistentLoad: () => { throw new Error('bug: persistent_load reached'); } });
  const hostile: [string, string][] = [
    ['builtins.eval', "cbuiltins\neval\nX\x08\x00\x00\x00__import__\x85R"],
    ['os.system', 'cos\nsystem\nX\x02\x00\x00\x00id\x85R'],
    ['subprocess.Popen', 'csubprocess\nPopen\n)R'],
    ['torch.load', 'ctorch\nload\n)R'],
    // STACK_GLOBAL (protocol 4) takes the names from the stack: same allowlist.
    ['posix.system', '\x8c\x05posix\x8c\x06system\x93)R'],
  ];
  for (const [name, body] of hostile) {
    it(`refuses ${name}, naming it, before any call`, () => {
      expect(() => load(pickle(body))).toThrow(new RegExp(`refusing to load: the pickle references the global ${name.replace('.', '\\.')}`));
    });
  }

  it('refuses opcodes a state dict never uses (INST, OBJ, NEWOBJ) and non-storage persistent ids', () => {
    expect(() => load(pickle('(ios\nsystem\n'))).toThrow(/opcode 0x69/);
    expect(() => load(pickle('(ctorch._utils\n_rebuild_tensor_v2\no'))).toThrow(/opcode 0x6f/);
    expect(() => load(pickle('ccollections\nOrderedDict\n)\x81'))).toThrow(/opcode 0x81/);
    const badPid = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('X\x04\x00\x00\x00evil\x85Q.', 'latin1')]);
    const storages = () => unpickle(badPid, { source: 'x.bin', persistentLoad: (pid) => { throw new ModelError(`pid ${JSON.stringify(pid)} refused`); } });
    expect(storages).toThrow(/refused/);
  });

  it('refuses a torch.save whose pickle would call os.system, writing nothing to the cache', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'biovec-evil-'));
    const cacheDir = join(scratch, 'cache');
    try {
      const dir = join(scratch, 'model');
      await cp(torchFixture('bert-bin'), dir, { recursive: true });
      await cp(join(torchFixture('evil'), 'os-system.bin'), join(dir, 'pytorch_model.bin'));
      const err = await convertCheckpoint({ modelDir: dir, cacheDir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).detail).toMatch(/refusing to load: the pickle references the global posix\.system/);
      expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
      // The same bytes as a legacy (non-zip) stream are refused the same way.
      await writeFile(join(dir, 'pytorch_model.bin'), Buffer.from('\x80\x02cbuiltins\nexec\nX\x01\x00\x00\x001\x85R.', 'latin1'));
      await expect(convertCheckpoint({ modelDir: dir, cacheDir })).rejects.toThrow(/global builtins\.exec/);
      expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('pytorch_model.bin and sharded checkpoints convert like model.safetensors', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-torch-conv-'));
  });
  afterAll(async () => rm(cacheDir, { recursive: true, force: true }));

  const hiddenOf = async (modelDir: string, referenceDir: string) => {
    const { onnxPath } = await convertCheckpoint({ modelDir, cacheDir });
    const session = await EncoderSession.create(onnxPath, { threads: 1, executionProvider: 'cpu' });
    try {
      const ref = await readReference(referenceDir);
      const { hidden } = await session.run({ inputIds: ref.inputIds, attentionMask: ref.attentionMask, batch: ref.batch, sequence: ref.sequence });
      return { hidden, reference: ref.hidden };
    } finally {
      await session.close();
    }
  };

  const cases: [string, string][] = [
    ['bert-bin', 'tiny-bert'],
    ['bert-bin-legacy', 'tiny-bert'],
    ['roberta-fp16-bin', 'tiny-roberta-fp16'],
    ['roberta-sharded-st', 'tiny-roberta'],
    ['bert-sharded-bin', 'tiny-bert'],
  ];
  for (const [torch, original] of cases) {
    it(`${torch} gives the same vectors as ${original}/model.safetensors (and transformers' within 1e-4)`, async () => {
      const ours = await hiddenOf(torchFixture(torch), fixtureModel(original));
      const fromSafetensors = await hiddenOf(fixtureModel(original), fixtureModel(original));
      expect(maxAbsDiff(ours.hidden, fromSafetensors.hidden)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(ours.hidden, ours.reference)).toBeLessThan(1e-4);
    });
  }

  it('refuses a truncated pytorch_model.bin instead of converting garbage', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'biovec-trunc-'));
    try {
      await cp(torchFixture('bert-bin'), scratch, { recursive: true });
      for (const name of ['pytorch_model.bin']) {
        const bytes = await readFile(join(scratch, name));
        await writeFile(join(scratch, name), bytes.subarray(0, Math.floor(bytes.length / 2)));
      }
      await expect(convertCheckpoint({ modelDir: scratch, cacheDir })).rejects.toThrow(/not a valid zip archive/);
      await cp(join(torchFixture('bert-bin-legacy'), 'pytorch_model.bin'), join(scratch, 'pytorch_model.bin'));
      const legacy = await readFile(join(scratch, 'pytorch_model.bin'));
      await writeFile(join(scratch, 'pytorch_model.bin'), legacy.subarray(0, legacy.length - 1000));
      await expect(convertCheckpoint({ modelDir: scratch, cacheDir })).rejects.toThrow(/legacy storage .* truncated/);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('a shard missing from the directory is named', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'biovec-shard-'));
    try {
      await cp(torchFixture('roberta-sharded-st'), scratch, { recursive: true });
      await rm(join(scratch, 'model-00002-of-00003.safetensors'));
      await expect(convertCheckpoint({ modelDir: scratch, cacheDir })).rejects.toThrow(/names shard model-00002-of-00003\.safetensors, which is missing/);
      await writeFile(join(scratch, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'embeddings.word_embeddings.weight': '../../etc/passwd' } }));
      await expect(convertCheckpoint({ modelDir: scratch, cacheDir })).rejects.toThrow(/not a shard file name/);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
