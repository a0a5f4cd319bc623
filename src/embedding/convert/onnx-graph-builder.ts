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
  private readonly domains = new Set<string>();

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
    return this.external(name, data, dims, onnx.TensorProto.DataType.FLOAT);
  }

  /** Adds an int8 tensor initializer (quantized weights) to the external data file. */
  weightInt8(name: string, data: Int8Array, dims: number[]): string {
    return this.external(name, data, dims, onnx.TensorProto.DataType.INT8);
  }

  private external(name: string, data: Float32Array | Int8Array, dims: number[], dataType: number): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let written = 0;
    while (written < bytes.byteLength) {
      written += writeSync(this.dataFd, bytes, written, bytes.byteLength - written, this.dataOffset + written);
    }
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType,
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

  /** Appends a node of a non-default operator domain (e.g. com.microsoft contrib ops). */
  domainNode(domain: string, opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    this.domains.add(domain);
    const [out] = this.nodeOutputs(opType, inputs, 1, attributes);
    this.nodes[this.nodes.length - 1]!.domain = domain;
    return out!;
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
      // Contrib domains are versioned on their own; version 1 is the only one com.microsoft has.
      opsetImport: [{ domain: '', version: opts.opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
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
