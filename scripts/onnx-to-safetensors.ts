// Recovers model.safetensors from a torch.onnx export of a BERT encoder, so biovec's own
// converter (and its --quantize int8) can run on a model a registry ships only as ONNX
// (bge-small-en-v1.5 from Maven). torch.onnx keeps the names of biases and LayerNorms but
// names the transposed Linear weights onnx::MatMul_N; each is matched to its layer through
// the Add that adds that layer's named bias to the MatMul's output.
//   npx tsx scripts/onnx-to-safetensors.ts <model dir with onnx/model.onnx> <out dir>
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { transpose2d } from '../src/embedding/convert/encoder-weights.js';

const { onnx } = onnxProto;
const [src, dest] = process.argv.slice(2);
if (!src || !dest) throw new Error('usage: onnx-to-safetensors.ts <model dir> <out dir>');

const model = onnx.ModelProto.decode(await readFile(join(src, 'onnx', 'model.onnx')));
const graph = model.graph!;
const floats = (t: OnnxTypes.ITensorProto): Float32Array => {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`${t.name}: not a float tensor`);
  if (t.rawData && t.rawData.length > 0) return new Float32Array(Uint8Array.from(t.rawData).buffer);
  return Float32Array.from(t.floatData ?? []);
};
const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
const tensors = new Map<string, { dims: number[]; data: Float32Array }>();
for (const [name, t] of inits) {
  if (/^(embeddings|encoder)\./.test(name)) tensors.set(name, { dims: t.dims!.map(Number), data: floats(t) });
}
const consumers = new Map<string, OnnxTypes.INodeProto[]>();
for (const n of graph.node!) for (const i of n.input!) consumers.set(i, [...(consumers.get(i) ?? []), n]);
for (const n of graph.node!) {
  if (n.opType !== 'MatMul') continue;
  const w = inits.get(n.input![1]!);
  if (!w || w.dims!.length !== 2) continue;
  const add = consumers.get(n.output![0]!)?.find((c) => c.opType === 'Add');
  const bias = add?.input!.find((i: string) => i.endsWith('.bias'));
  if (!bias) throw new Error(`MatMul ${n.name}: no named bias after it`);
  const [inDim, outDim] = w.dims!.map(Number) as [number, number];
  // ONNX holds [in, out]; a PyTorch Linear (and so safetensors) holds [out, in].
  tensors.set(bias.replace(/\.bias$/, '.weight'), { dims: [outDim, inDim], data: transpose2d(floats(w), inDim, outDim) });
}

const header: Record<string, unknown> = { __metadata__: { format: 'pt', source: 'onnx/model.onnx' } };
let offset = 0;
const names = [...tensors.keys()].sort();
for (const name of names) {
  const { dims, data } = tensors.get(name)!;
  header[name] = { dtype: 'F32', shape: dims, data_offsets: [offset, offset + data.byteLength] };
  offset += data.byteLength;
}
let headerText = JSON.stringify(header);
headerText += ' '.repeat((8 - (headerText.length % 8)) % 8);
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(headerText.length));
await mkdir(dest, { recursive: true });
await writeFile(join(dest, 'model.safetensors'), Buffer.concat([len, Buffer.from(headerText), ...names.map((n) => Buffer.from(tensors.get(n)!.data.buffer))]));
for (const entry of await readdir(src, { withFileTypes: true })) {
  if (entry.isFile()) await copyFile(join(src, entry.name), join(dest, entry.name));
}
await mkdir(join(dest, '1_Pooling'), { recursive: true });
await copyFile(join(src, '1_Pooling', 'config.json'), join(dest, '1_Pooling', 'config.json'));
process.stdout.write(`${dest}: model.safetensors with ${names.length} tensors from ${join(src, 'onnx', 'model.onnx')}\n`);
