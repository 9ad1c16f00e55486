/**
 * Does caching the frozen part's activations pay (issue 11 item 3)? With the first half of
 * a pretrained B0 frozen, a training step still runs the frozen blocks forward (their
 * backward is skipped: no trainable weight lies behind them). Caching each cached image's
 * activation at the frozen boundary would leave only the unfrozen tail to run per step.
 * This times, on the backend that trains here, one full step vs one step of the tail alone
 * on precomputed activations, and the one-off cost of computing an activation, and prints
 * the activation's size per image against the uint8 image's.
 *
 * usage: node --import tsx bench/frozen-activation-cache.ts [--size 64] [--batch 16] [--steps 5] [--ratio 0.5]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../src/ml/model/freezing.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '64' }, batch: { type: 'string', default: '16' }, steps: { type: 'string', default: '5' }, ratio: { type: 'string', default: '0.5' } } });
const size = Number(values.size);
const batch = Number(values.batch);
const steps = Number(values.steps);
const ratio = Number(values.ratio);

const choice = await selectBackend('auto', { log: null });
console.log(`backend ${choice.backend} (${choice.threads} thread(s)); B0 @${size}px, batch ${batch}, freeze ratio ${ratio}`);
const { model, backbones } = buildClassifier({ inputSize: size, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 512, headDropout: 0.3, nParts: 200, nColors: 50, architecture: 'multitask' });
const backbone = backbones[0]!;
freezeLayers(model, layersToFreeze(backbone, ratio));
const frozenBlocks = Math.floor(backbone.blocks.length * ratio);
const boundaryName = backbone.blocks[frozenBlocks - 1]!.layers.at(-1)!;
const boundary = model.getLayer(boundaryName).output as tf.SymbolicTensor;

/** The frozen part alone: input -> boundary activation. */
const head = tf.model({ inputs: model.inputs, outputs: boundary });
/** The rest, re-applied on a new input shaped like the boundary (the same layers, so the same weights). */
function tailModel(): tf.LayersModel {
  const input = tf.input({ shape: boundary.shape.slice(1) as number[] });
  const mapped = new Map<number, tf.SymbolicTensor>([[boundary.id, input]]);
  const start = model.layers.findIndex((l) => l.name === boundaryName) + 1;
  for (const layer of model.layers.slice(start)) {
    const inbound = (layer.inboundNodes[0]!.inputTensors as tf.SymbolicTensor[]).map((t) => mapped.get(t.id));
    if (inbound.some((t) => t === undefined)) continue; // not downstream of the boundary
    const out = layer.apply(inbound.length === 1 ? inbound[0]! : (inbound as tf.SymbolicTensor[])) as tf.SymbolicTensor;
    mapped.set((layer.inboundNodes[0]!.outputTensors as tf.SymbolicTensor[])[0]!.id, out);
  }
  return tf.model({ inputs: input, outputs: model.outputs.map((o) => mapped.get(o.id)!) });
}
const tail = tailModel();

const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1);
const optimizer = tf.train.sgd(1e-4); // the optimizer's own cost is the same either way
function step(net: tf.LayersModel, input: tf.Tensor): void {
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const [p, c] = net.apply(input, { training: true }) as tf.Tensor[];
    return tf.add(tf.mean(tf.square(p!)), tf.mean(tf.square(c!))) as tf.Scalar;
  }, vars);
  optimizer.applyGradients(grads);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}
/** Median ms of each timed function, run in turns (a, b, c, a, b, c, ...) so load changes hit all alike. */
function interleavedMedians(fns: Array<() => void>): number[] {
  for (const fn of fns) fn(); // warm-up (kernel compilation, allocation)
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < steps; i++) {
    fns.forEach((fn, k) => {
      const t0 = performance.now();
      fn();
      times[k]!.push(performance.now() - t0);
    });
    if (!process.stdout.isTTY) console.log(`  round ${i + 1}/${steps}`);
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

const cached = head.predict(x) as tf.Tensor;
const [full, tailOnly, activation] = interleavedMedians([
  () => step(model, x),
  () => step(tail, cached),
  () => tf.tidy(() => (head.predict(x) as tf.Tensor).dataSync()),
]) as [number, number, number];
const perImageFloats = boundary.shape.slice(1).reduce((a, b) => a! * b!, 1)!;
console.log(`frozen: stem + ${frozenBlocks}/${backbone.blocks.length} blocks, boundary ${boundaryName} ${JSON.stringify(boundary.shape.slice(1))}`);
console.log(`full step (frozen part run forward):  ${full.toFixed(0)} ms / batch of ${batch}`);
console.log(`tail step on cached activations:      ${tailOnly.toFixed(0)} ms / batch  -> ${(full / tailOnly).toFixed(2)}x faster per step, saves ${(100 * (1 - tailOnly / full)).toFixed(0)}%`);
console.log(`computing the activations once:       ${activation.toFixed(0)} ms / batch (${(activation / batch).toFixed(1)} ms per cached image)`);
console.log(`cache size per image: ${(perImageFloats * 4 / 1024).toFixed(1)} KiB float32 (${(perImageFloats * 2 / 1024).toFixed(1)} KiB float16) vs ${(size * size * 3 / 1024).toFixed(1)} KiB uint8 image`);
const saving = full - tailOnly;
console.log(saving > 0
  ? `break-even: building the cache costs ${(activation / saving).toFixed(2)} epochs' worth of the per-step saving; it is reused every epoch while the frozen weights and the cached images stay the same`
  : 'no saving measured: the tail step is not faster than the full step here');
