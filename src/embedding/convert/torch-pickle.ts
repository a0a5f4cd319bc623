import { ModelError } from '../../lib/errors.js';

/** What a torch storage holds, named as safetensors names dtypes. */
export type StorageDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const STORAGE_TYPES: Record<string, StorageDtype> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** A pickled tensor: a strided view into a storage that the checkpoint holds separately. */
export interface TensorRef {
  kind: 'tensor';
  storage: unknown;
  /** In elements, as torch counts them. */
  storageOffset: number;
  shape: number[];
  stride: number[];
}

export interface StorageTypeRef {
  kind: 'storage-type';
  dtype: StorageDtype;
}

/** A global the allowlist admits; calling it (REDUCE) rebuilds data, never runs code. */
interface AllowedGlobal {
  kind: 'global';
  name: string;
  call?: (args: unknown[]) => unknown;
}

type PersistentLoad = (pid: unknown) => unknown;

const rebuildTensor = (args: unknown[]): TensorRef => {
  const [storage, offset, shape, stride] = args;
  const ints = (v: unknown) => Array.isArray(v) && v.every((d) => Number.isInteger(d) && (d as number) >= 0);
  if (!Number.isInteger(offset) || !ints(shape) || !ints(stride) || (shape as number[]).length !== (stride as number[]).length) {
    throw new ModelError('pickle: _rebuild_tensor arguments are not (storage, offset, size, stride)');
  }
  return { kind: 'tensor', storage, storageOffset: offset as number, shape: shape as number[], stride: stride as number[] };
};

const firstArg = (args: unknown[]): unknown => args[0];

/**
 * The only globals a torch state dict needs. Anything else (os.system, builtins.eval,
 * subprocess.Popen, torch.load itself…) is refused at the GLOBAL opcode, before any REDUCE.
 */
const ALLOWED: Record<string, Omit<AllowedGlobal, 'kind' | 'name'>> = {
  'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
  'torch._utils._rebuild_tensor': { call: rebuildTensor },
  'torch._utils._rebuild_parameter': { call: firstArg },
  'torch._utils._rebuild_parameter_with_state': { call: firstArg },
  'collections.OrderedDict': { call: () => new Map<unknown, unknown>() },
  ...Object.fromEntries(Object.keys(STORAGE_TYPES).map((name) => [`torch.${name}`, {}])),
};

export const ALLOWED_GLOBALS: readonly string[] = Object.keys(ALLOWED);

const MARK = Symbol('mark');

/**
 * A restricted unpickler for torch checkpoints: the opcodes of pickle protocols 0–5 that
 * torch.save's protocol-2 output (and data containers) use, with globals limited to
 * ALLOWED_GLOBALS. It only builds plain values: dicts become Maps, tuples and lists arrays,
 * tensors TensorRefs. Throws ModelError naming any refused global or unknown opcode.
 */
export function unpickle(data: Uint8Array, opts: { source: string; persistentLoad: PersistentLoad; offset?: number }): { value: unknown; end: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = opts.offset ?? 0;
  const fail = (why: string): never => {
    throw new ModelError(`${opts.source}: ${why}`);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail('pickle is truncated');
  };
  const u8 = () => (need(1), data[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const text = (n: number) => Buffer.from(bytes(n)).toString('utf8');
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('pickle is truncated');
    const s = Buffer.from(data.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('pickle pops an empty stack') : stack.pop());
  const top = () => (stack.length === 0 ? fail('pickle reads an empty stack') : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('pickle has no MARK');
    const items = stack.slice(at + 1);
    stack.length = at;
    return items;
  };
  const global = (module: string, name: string) => {
    const full = `${module}.${name}`;
    const allowed = ALLOWED[full];
    if (!allowed) {
      fail(
        `refusing to load: the pickle references the global ${full}, which is not a tensor-rebuild function or storage type. ` +
          'A checkpoint that names it could run code when loaded by torch; biovec reads only plain state dicts ' +
          '(re-save the weights with safetensors if this checkpoint is yours)',
      );
    }
    const storage = STORAGE_TYPES[name];
    stack.push(storage && module === 'torch' ? ({ kind: 'storage-type', dtype: storage } satisfies StorageTypeRef) : ({ kind: 'global', name: full, ...allowed } satisfies AllowedGlobal));
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail('pickle sets items on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) fail('pickle appends to a non-list');
    (target as unknown[]).push(...items);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; } // DICT
      case 0x6c: case 0x74: stack.push(popMark()); break; // LIST, TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(readLong(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(readLong(bytes(u32()))); break; // LONG4
      case 0x49: { const s = line(); stack.push(s === '00' ? false : s === '01' ? true : Number(s)); break; } // INT
      case 0x4c: stack.push(Number(line().replace(/L$/, ''))); break; // LONG (text)
      case 0x47: need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; // BINFLOAT
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x54: stack.push(Buffer.from(bytes(u32())).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32())); break; // BINBYTES
      case 0x43: stack.push(bytes(u8())); break; // SHORT_BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { const key = op === 0x68 ? u8() : u32(); if (!memo.has(key)) fail(`pickle reads memo ${key} before writing it`); stack.push(memo.get(key)); break; } // BINGET, LONG_BINGET
      case 0x63: { const module = line(); global(module, line()); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without strings'); global(module as string, name as string); break; }
      case 0x51: stack.push(opts.persistentLoad(pop())); break; // BINPERSID
      case 0x52: { const args = pop(); const fn = pop() as AllowedGlobal; if (fn?.kind !== 'global' || !fn.call || !Array.isArray(args)) fail(`pickle calls ${describe(fn)}, which is not callable here`); stack.push(fn.call!(args as unknown[])); break; } // REDUCE
      case 0x62: pop(); break; // BUILD: state of an OrderedDict/Parameter (hooks, _metadata); not needed for weights
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x30: pop(); break; // POP
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`refusing to load: pickle opcode 0x${op.toString(16)} at byte ${pos - 1} is not one a torch state dict uses`);
    }
  }
}

function describe(value: unknown): string {
  if (value && typeof value === 'object' && 'kind' in value) return String((value as { name?: string; kind: string }).name ?? (value as { kind: string }).kind);
  return typeof value;
}

/** Little-endian two's complement, as LONG1/LONG4 store Python ints. */
function readLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let value = 0n;
  for (let i = b.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) value -= 1n << BigInt(8 * b.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
