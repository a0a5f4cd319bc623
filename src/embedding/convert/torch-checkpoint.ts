import { open, readFile } from 'node:fs/promises';
import { ModelError } from '../../lib/errors.js';
import { widenToFloat32 } from './half-float.js';
import { unpickle, type StorageDtype, type StorageTypeRef, type TensorRef } from './torch-pickle.js';
import type { WeightsSource } from './weights-source.js';
import { ZipReader } from './zip-reader.js';

const ELEMENT_BYTES: Record<StorageDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

interface Storage {
  key: string;
  dtype: StorageDtype;
  numel: number;
}

interface TorchTensor {
  name: string;
  dtype: StorageDtype;
  shape: number[];
  stride: number[];
  storage: Storage;
  storageOffset: number;
}

/** Where a storage's bytes live: a zip entry, or a byte range of a legacy file. */
type StorageReader = (storage: Storage, byteOffset: number, byteLength: number) => Promise<Uint8Array>;

interface Parts {
  tensors: Map<string, TorchTensor>;
  read: StorageReader;
  close: () => Promise<void>;
}

/**
 * A `pytorch_model.bin` read without Python: torch's zip format (archive/data.pkl plus one
 * entry per storage) or the legacy pre-1.6 stream, through the restricted unpickler, so a
 * hostile pickle is refused rather than run.
 */
export class TorchCheckpoint implements WeightsSource {
  private readonly tensors: ReadonlyMap<string, TorchTensor>;
  private readonly readStorage: StorageReader;
  private readonly closeFile: () => Promise<void>;

  private constructor(
    readonly path: string,
    parts: Parts,
  ) {
    this.tensors = parts.tensors;
    this.readStorage = parts.read;
    this.closeFile = parts.close;
  }

  /** Throws ModelError for a refused global, a corrupt file, or a non-state-dict pickle. */
  static async open(path: string): Promise<TorchCheckpoint> {
    const head = Buffer.alloc(4);
    const handle = await open(path, 'r');
    await handle.read(head, 0, 4, 0).finally(() => handle.close());
    if (head.readUInt32LE(0) === 0x04034b50) return new TorchCheckpoint(path, await openZip(path));
    if (head[0] === 0x80) return new TorchCheckpoint(path, await openLegacy(path));
    throw new ModelError(`${path} is neither a torch zip checkpoint nor a legacy torch pickle`);
  }

  tensorNames(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): { shape: number[]; dtype: string } {
    const t = this.tensors.get(name);
    if (!t) throw new ModelError(`${this.path}: tensor ${name} is missing`);
    return { shape: t.shape, dtype: t.dtype };
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.tensors.get(name);
    if (!t) throw new ModelError(`${this.path}: tensor ${name} is missing`);
    const size = ELEMENT_BYTES[t.dtype];
    const numel = t.shape.reduce((a, b) => a * b, 1);
    // The span of storage the view touches: a contiguous view is one read, a strided one
    // (a transposed or sliced weight) is gathered from it.
    const lastIndex = numel === 0 ? 0 : t.shape.reduce((acc, dim, i) => acc + (dim - 1) * t.stride[i]!, 0);
    if (numel > 0 && t.storageOffset + lastIndex >= t.storage.numel) {
      throw new ModelError(`${this.path}: tensor ${name} reaches past its storage (corrupt checkpoint)`);
    }
    const spanElements = numel === 0 ? 0 : lastIndex + 1;
    const raw = await this.readStorage(t.storage, t.storageOffset * size, spanElements * size);
    const span = widenToFloat32(raw, t.dtype, `${this.path}: tensor ${name}`);
    if (!isContiguous(t.shape, t.stride)) return gather(span, t.shape, t.stride, numel);
    return span.length === numel ? span : span.slice(0, numel);
  }

  async close(): Promise<void> {
    await this.closeFile();
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

function gather(span: Float32Array, shape: number[], stride: number[], numel: number): Float32Array {
  const out = new Float32Array(numel);
  const index = new Array<number>(shape.length).fill(0);
  let source = 0;
  for (let i = 0; i < numel; i++) {
    out[i] = span[source]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]! += 1;
      source += stride[d]!;
      if (index[d]! < shape[d]!) break;
      source -= index[d]! * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** persistent_load for both formats: ('storage', StorageType, key, location, numel[, view]). */
function storageLoader(source: string, storages: Map<string, Storage>) {
  return (pid: unknown): Storage => {
    const parts = Array.isArray(pid) ? pid : [];
    const [kind, type, key, , numel, view] = parts as [unknown, StorageTypeRef | undefined, unknown, unknown, unknown, unknown];
    if (kind !== 'storage' || type?.kind !== 'storage-type' || (typeof key !== 'string' && typeof key !== 'number') || !Number.isInteger(numel)) {
      throw new ModelError(`${source}: refusing to load: persistent id ${JSON.stringify(kind)} is not a tensor storage`);
    }
    if (view !== undefined && view !== null) throw new ModelError(`${source}: storage views of the legacy format are not supported; re-save the checkpoint`);
    const id = String(key);
    const known = storages.get(id);
    if (known) return known;
    const storage = { key: id, dtype: type.dtype, numel: numel as number };
    storages.set(id, storage);
    return storage;
  };
}

/** The state dict inside the pickle: a dict of name → tensor (nested under "state_dict" for some trainers). */
function collectTensors(source: string, value: unknown): Map<string, TorchTensor> {
  let dict = value;
  if (dict instanceof Map && !hasTensor(dict) && dict.get('state_dict') instanceof Map) dict = dict.get('state_dict');
  if (!(dict instanceof Map)) throw new ModelError(`${source} does not hold a state dict (a dict of tensors)`);
  const tensors = new Map<string, TorchTensor>();
  for (const [name, t] of dict as Map<unknown, unknown>) {
    const ref = t as TensorRef;
    if (typeof name !== 'string' || ref?.kind !== 'tensor') continue;
    const storage = ref.storage as Storage;
    if (!storage || typeof storage.key !== 'string') throw new ModelError(`${source}: tensor ${name} has no storage`);
    tensors.set(name, { name, dtype: storage.dtype, shape: ref.shape, stride: ref.stride, storage, storageOffset: ref.storageOffset });
  }
  if (tensors.size === 0) throw new ModelError(`${source} holds no tensors`);
  return tensors;
}

const hasTensor = (dict: Map<unknown, unknown>) => [...dict.values()].some((v) => (v as TensorRef)?.kind === 'tensor');

async function openZip(path: string): Promise<Parts> {
  const zip = await ZipReader.open(path);
  try {
    const pkl = [...zip.entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (!pkl) throw new ModelError(`${path} is a zip archive without <name>/data.pkl: not a torch checkpoint`);
    const prefix = pkl.name.slice(0, -'data.pkl'.length);
    const byteorder = zip.entries.get(`${prefix}byteorder`);
    if (byteorder && Buffer.from(await zip.read(byteorder)).toString('latin1') !== 'little') {
      throw new ModelError(`${path} was saved on a big-endian machine; re-save it on a little-endian one`);
    }
    const storages = new Map<string, Storage>();
    const { value } = unpickle(await zip.read(pkl), { source: path, persistentLoad: storageLoader(path, storages) });
    const tensors = collectTensors(path, value);
    for (const storage of storages.values()) {
      const entry = zip.entries.get(`${prefix}data/${storage.key}`);
      if (!entry) throw new ModelError(`${path}: storage ${storage.key} is missing from the archive`);
      if (entry.size < storage.numel * ELEMENT_BYTES[storage.dtype]) throw new ModelError(`${path}: storage ${storage.key} is truncated`);
    }
    const read: StorageReader = (s, offset, length) => zip.read(zip.entries.get(`${prefix}data/${s.key}`)!, offset, length);
    return { tensors, read, close: () => zip.close() };
  } catch (err) {
    await zip.close();
    throw err;
  }
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * torch's pre-1.6 stream: pickles of the magic number, protocol version, sys info, the state
 * dict, and the storage keys, then each storage as an int64 element count and its bytes. The
 * file is read whole: the stream gives no offsets, and legacy checkpoints are base-sized.
 */
async function openLegacy(path: string): Promise<Parts> {
  const data = new Uint8Array(await readFile(path));
  const refuseStorages = () => {
    throw new ModelError(`${path}: the header pickles of a legacy checkpoint hold no tensors`);
  };
  let at = 0;
  const header: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const { value, end } = unpickle(data, { source: path, persistentLoad: refuseStorages, offset: at });
    header.push(value);
    at = end;
  }
  if (BigInt(header[0] as number | bigint) !== LEGACY_MAGIC) {
    throw new ModelError(`${path} is a pickle but not a torch checkpoint; biovec reads torch.save state dicts only`);
  }
  const sysInfo = header[2] instanceof Map ? header[2] : new Map();
  if (sysInfo.get('little_endian') === false) throw new ModelError(`${path} was saved on a big-endian machine; re-save it on a little-endian one`);
  const storages = new Map<string, Storage>();
  const main = unpickle(data, { source: path, persistentLoad: storageLoader(path, storages), offset: at });
  const tensors = collectTensors(path, main.value);
  const keys = unpickle(data, { source: path, persistentLoad: refuseStorages, offset: main.end });
  if (!Array.isArray(keys.value)) throw new ModelError(`${path}: legacy checkpoint without its storage key list`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const offsets = new Map<string, number>();
  at = keys.end;
  for (const key of keys.value as unknown[]) {
    const storage = storages.get(String(key));
    if (!storage || at + 8 > data.length) throw new ModelError(`${path}: legacy storage ${String(key)} is unknown or truncated`);
    const numel = Number(view.getBigInt64(at, true));
    const length = numel * ELEMENT_BYTES[storage.dtype];
    if (numel !== storage.numel || at + 8 + length > data.length) throw new ModelError(`${path}: legacy storage ${storage.key} is truncated`);
    offsets.set(storage.key, at + 8);
    at += 8 + length;
  }
  for (const storage of storages.values()) {
    if (!offsets.has(storage.key)) throw new ModelError(`${path}: storage ${storage.key} is missing`);
  }
  const read: StorageReader = async (s, offset, length) => {
    const start = offsets.get(s.key)! + offset;
    return data.slice(start, start + length);
  };
  return { tensors, read, close: async () => {} };
}
