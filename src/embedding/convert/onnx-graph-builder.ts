import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type AttributeValue = number | number[] | string | { float: number };

export interface ValueSpec {
  name: string;
  elemType: 'int64' | 'float';
  /** A string is a symbolic dimension such as "batch". */
  dims: (number | string)[];
}

/**
 * Builds an ONNX ModelProto node by node. Weights go to an external data file as they are
 * added, so converting a base-sized checkpoint never holds the whole graph's weights in
 * memory at once and the proto stays far below protobuf's 2 GB limit.
 */
export class OnnxGraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly dataFd: number;
  private dataOffset = 0;
  private counter = 0;

  constructor(private readonly dataPath: string) {
    this.dataFd = openSync(dataPath, 'w');
  }

  input(spec: ValueSpec): string {
    this.inputs.push(spec);
    return spec.name;
  }

  output(spec: ValueSpec): void {
    this.outputs.push(spec);
  }

  /** Adds a float tensor initializer whose bytes go to the external data file. */
  weight(name: string, data: Float32Array, dims: number[]): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let written = 0;
    while (written < bytes.byteLength) {
      written += writeSync(this.dataFd, bytes, written, bytes.byteLength - written, this.dataOffset + written);
    }
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: basename(this.dataPath) },
          { key: 'offset', value: String(this.dataOffset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      }),
    );
    this.dataOffset += bytes.byteLength;
    return name;
  }

  /** Small constants (shapes, axes, scalars) stay inline in the proto. */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i64');
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values }),
    );
    return name;
  }

  constFloat(values: number[], dims: number[] = []): string {
    const name = this.fresh('const_f32');
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values }),
    );
    return name;
  }

  /** Appends a node with one output and returns that output's name. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.nodeOutputs(opType, inputs, 1, attributes)[0]!;
  }

  /** Appends a node with `outputCount` outputs and returns their names. */
  nodeOutputs(
    opType: string,
    inputs: string[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
  ): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outputs,
        name: this.fresh(`${opType}_node`),
        attribute: Object.entries(attributes).map(([key, value]) => toAttribute(key, value)),
      }),
    );
    return outputs;
  }

  /** Renames the final value of a computation to a public output name. */
  alias(from: string, to: string): string {
    this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [from], output: [to], name: this.fresh('Identity_node') }));
    return to;
  }

  /** Serialises the model proto; the external data file is complete once this returns. */
  finish(opts: { producer: string; opset: number; docString?: string }): Uint8Array {
    closeSync(this.dataFd);
    const graph = onnx.GraphProto.create({
      name: 'encoder',
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs.map(toValueInfo),
      output: this.outputs.map(toValueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: opts.producer,
      docString: opts.docString ?? '',
      opsetImport: [{ domain: '', version: opts.opset }],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }
}

function toAttribute(name: string, value: AttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: value });
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: Buffer.from(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.float });
}

function toValueInfo(spec: ValueSpec): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.elemType === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
        shape: { dim: spec.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}
