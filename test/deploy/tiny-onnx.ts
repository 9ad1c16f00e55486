// Writes a tiny but real ONNX classifier (image -> GlobalAveragePool -> two Gemm heads) with
// protobufjs, so the deploy tests have a model onnxruntime can run without the exporter.
import { mkdirSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import protobuf from 'protobufjs';

const schema = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { ir_version: { type: 'int64', id: 1 }, opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 }, producer_name: { type: 'string', id: 2 }, graph: { type: 'GraphProto', id: 7 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: { fields: { input: { rule: 'repeated', type: 'string', id: 1 }, output: { rule: 'repeated', type: 'string', id: 2 }, name: { type: 'string', id: 3 }, op_type: { type: 'string', id: 4 } } },
        TensorProto: { fields: { dims: { rule: 'repeated', type: 'int64', id: 1 }, data_type: { type: 'int32', id: 2 }, name: { type: 'string', id: 8 }, raw_data: { type: 'bytes', id: 9 } } },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
      },
    },
  },
};

const FLOAT = 1;

function valueInfo(name: string, dims: Array<number | string>) {
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}

function floatTensor(name: string, dims: number[], values: Float32Array) {
  return { name, dims, data_type: FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Seeded weights: a different `seed` gives a different model (and different bytes). */
export function tinyClassifierOnnx(opts: { size: number; parts: number; colors: number; seed: number }): Uint8Array {
  let s = opts.seed * 7919 + 17;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const fill = (n: number) => Float32Array.from({ length: n }, rand);
  const root = protobuf.Root.fromJSON(schema);
  const Model = root.lookupType('onnx.ModelProto');
  const model = {
    ir_version: 8,
    producer_name: 'brickflow-test',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny',
      node: [
        { name: 'gap', op_type: 'GlobalAveragePool', input: ['image'], output: ['pooled'] },
        { name: 'flat', op_type: 'Flatten', input: ['pooled'], output: ['features'] },
        { name: 'part', op_type: 'Gemm', input: ['features', 'w_part', 'b_part'], output: ['part_logits'] },
        { name: 'color', op_type: 'Gemm', input: ['features', 'w_color', 'b_color'], output: ['color_logits'] },
      ],
      initializer: [
        floatTensor('w_part', [3, opts.parts], fill(3 * opts.parts)),
        floatTensor('b_part', [opts.parts], fill(opts.parts)),
        floatTensor('w_color', [3, opts.colors], fill(3 * opts.colors)),
        floatTensor('b_color', [opts.colors], fill(opts.colors)),
      ],
      input: [valueInfo('image', ['batch', 3, opts.size, opts.size])],
      output: [valueInfo('part_logits', ['batch', opts.parts]), valueInfo('color_logits', ['batch', opts.colors])],
    },
  };
  return Model.encode(Model.fromObject(model)).finish();
}

/** model.onnx + model.json in `dir`; with `samples`, also PNG test images in samples/ as the export stage writes them. */
export async function writeTinyModel(dir: string, seed: number, size = 16, samples = 0): Promise<void> {
  if (samples > 0) {
    mkdirSync(`${dir}/samples`, { recursive: true });
    for (let i = 0; i < samples; i++) {
      const pixels = Buffer.alloc(size * size * 3, 40 + 50 * i);
      await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toFile(`${dir}/samples/test_${String(i).padStart(3, '0')}.png`);
    }
  }
  writeFileSync(`${dir}/model.onnx`, tinyClassifierOnnx({ size, parts: 5, colors: 4, seed }));
  writeFileSync(`${dir}/model.json`, JSON.stringify({ input_size: size, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], labels: { parts: ['3001', '3003', '3004', '3010', '3020'], colors: [0, 1, 4, 5] }, version: seed }));
}
