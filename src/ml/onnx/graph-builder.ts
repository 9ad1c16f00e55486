// Collects ONNX nodes and initializers under unique names while a model is being translated.
import { AttributeType, DataType, type AttributeProto, type NodeProto, type TensorProto } from './proto.ts';

export type AttrValue = number | number[] | string | { floats: number[] } | { float: number };

/** Attribute values: integers and integer lists are INT/INTS; wrap floats as {float} / {floats}. */
export type Attrs = Record<string, AttrValue>;

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name that must stay exactly as given (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`bug: ONNX name ${name} used twice`);
    this.used.add(name);
    return name;
  }

  addFloat(base: string, dims: number[], values: Float32Array): string {
    const name = this.uniqueName(base);
    const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({ name, dims, data_type: DataType.FLOAT, raw_data: bytes });
    return name;
  }

  addInt64(base: string, values: number[]): string {
    const name = this.uniqueName(base);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], data_type: DataType.INT64, raw_data: new Uint8Array(data.buffer) });
    return name;
  }

  addRaw(base: string, dims: number[], dataType: number, raw: Uint8Array): string {
    const name = this.uniqueName(base);
    this.initializers.push({ name, dims, data_type: dataType, raw_data: raw });
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], nameBase: string, attrs: Attrs = {}, outputName?: string): string {
    const output = outputName ?? this.uniqueName(nameBase);
    this.nodes.push({
      name: this.uniqueName(`${nameBase}/${opType}`),
      op_type: opType,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([key, value]) => toAttribute(key, value)),
    });
    return output;
  }
}

function toAttribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
  return { name, type: AttributeType.FLOAT, f: value.float };
}
