// Importing Keras' EfficientNetB0 weights (.h5) into the tfjs classifier, the `imagenet`
// cache, and freezing after the import. The .h5 files are written here with h5wasm.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/ml/backend/select-backend.ts';
import { buildClassifier, type Classifier } from '../../src/ml/model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../../src/ml/model/freezing.ts';
import { IMAGENET_B0_NOTOP, resolvePretrainedWeights } from '../../src/ml/model/keras-weights-cache.ts';
import { loadKerasWeights } from '../../src/ml/model/keras-weights.ts';
import { openSession } from '../../src/ml/onnx/ort-session.ts';
import { checkParity } from '../../src/ml/onnx/parity.ts';
import { exportToOnnx } from '../../src/ml/onnx/tfjs-to-onnx.ts';
import { writeKerasWeights, type WrittenTensor } from './keras-h5-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'brickflow-pretrained-'));
// The backend that trains here (tfjs-backend-wasm with brickflow's gradient kernels): the freezing step runs ~10x faster than on cpu.
beforeAll(async () => {
  await selectBackend('wasm', { log: null });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Real B0 (width 1.0, depth 1.0) at a small input so the tests stay quick. */
function b0(): Classifier {
  return buildClassifier({ inputSize: 32, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 16, headDropout: 0.3, nParts: 5, nColors: 4, architecture: 'multitask' });
}

async function layerWeights(c: Classifier, layer: string): Promise<Float32Array[]> {
  return Promise.all(c.model.getLayer(layer).getWeights().map(async (w) => (await w.data()) as Float32Array));
}

async function weightByKey(c: Classifier, key: string): Promise<Float32Array> {
  const [layer, weight] = key.split('/') as [string, string];
  const l = c.model.getLayer(layer);
  const i = l.weights.findIndex((w) => w.originalName.endsWith(`/${weight}`));
  return (await l.getWeights()[i]!.data()) as Float32Array;
}

describe('loadKerasWeights', () => {
  let written: Map<string, WrittenTensor>;
  let model: Classifier;
  const file = join(dir, 'efficientnetb0_notop.h5');

  beforeAll(async () => {
    model = b0();
    written = await writeKerasWeights(model.model, file, { seed: 7 });
  });

  it('puts every tensor of a Keras-layout file in its layer, value for value', async () => {
    const headBefore = await layerWeights(model, 'part_logits');
    const result = await loadKerasWeights(model.model, file);
    expect(result.ok ? '' : result.message).toBe('');
    if (!result.ok) return;
    expect(result.params).toBe(4_049_564); // Keras EfficientNetB0 notop minus the input normalisation's 7
    expect(result.tensors).toBe(written.size - 3);
    // Spot checks named for the layer kinds that are easy to get wrong, element by element.
    for (const key of ['stem_conv/kernel', 'block1a_dwconv/depthwise_kernel', 'block1a_se_reduce/kernel', 'block1a_se_reduce/bias', 'block2b_se_expand/kernel', 'block4c_expand_bn/moving_variance', 'block6d_project_conv/kernel', 'top_bn/gamma']) {
      expect(Array.from(await weightByKey(model, key)), key).toEqual(Array.from(written.get(key)!.values));
    }
    // And every other tensor too.
    for (const [key, t] of written) {
      if (key.startsWith('normalization/')) continue;
      expect((await weightByKey(model, key)).every((v, i) => v === t.values[i]), key).toBe(true);
    }
    expect(await layerWeights(model, 'part_logits')).toEqual(headBefore); // the heads are not the file's business
  });

  it("loads the same file into both of option B's prefixed backbones", async () => {
    const two = buildClassifier({ inputSize: 32, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 16, headDropout: 0.3, nParts: 5, nColors: 4, architecture: 'two_models' });
    for (const prefix of ['part_', 'color_']) {
      const result = await loadKerasWeights(two.model, file, { prefix });
      expect(result.ok ? result.params : result.message).toBe(4_049_564);
    }
    const expected = Array.from(written.get('block2a_se_reduce/kernel')!.values);
    for (const layer of ['part_block2a_se_reduce', 'color_block2a_se_reduce']) {
      expect(Array.from((await layerWeights(two, layer))[0]!), layer).toEqual(expected);
    }
  });

  it('lists missing, left-over and mis-shaped weights, and loads nothing', async () => {
    const bad = join(dir, 'bad.h5');
    await writeKerasWeights(model.model, bad, {
      seed: 9,
      drop: ['block3a_se_reduce/bias'],
      extra: { 'block8a_dwconv/depthwise_kernel': [3, 3, 8, 1] },
      reshape: { 'block5b_expand_conv/kernel': [1, 1, 112, 600] },
    });
    const before = await weightByKey(model, 'stem_conv/kernel');
    const result = await loadKerasWeights(model.model, bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.mismatch).toEqual({
      missing: ['block3a_se_reduce/bias [6]'],
      leftOver: ['block8a_dwconv/depthwise_kernel [3, 3, 8, 1]'],
      misShaped: ['block5b_expand_conv/kernel: file [1, 1, 112, 600] vs model [1, 1, 112, 672]'],
    });
    expect(result.message).toContain(`${bad} does not fit the model's backbone; nothing was loaded`);
    expect(result.message).toContain('missing from the file (1):\n    block3a_se_reduce/bias [6]');
    expect(await weightByKey(model, 'stem_conv/kernel')).toEqual(before);
  });

  it('says so when the file is not a Keras weights file', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const other = join(dir, 'other.h5');
    const f = new h5.File(other, 'w');
    f.create_dataset({ name: 'x', data: Float32Array.of(1, 2) });
    f.close();
    const result = await loadKerasWeights(model.model, other);
    expect(result.ok ? '' : result.message).toBe(`${other}: no layer_names attribute (not a Keras weights file)`);
  });

  it('exports to ONNX with every imported layer, logits within 1e-4 of tfjs', async () => {
    const c = b0();
    expect((await loadKerasWeights(c.model, file)).ok).toBe(true);
    const exported = exportToOnnx(c.model);
    const session = await openSession(exported.bytes, 1);
    const n = 4;
    const images = Uint8Array.from({ length: n * 32 * 32 * 3 }, (_, i) => (i * 2654435761) >>> 24);
    const parity = await checkParity(c.model, session, exported.outputNames, { n, size: 32, images });
    await session.release();
    expect(parity.max_abs_diff).toBeLessThanOrEqual(1e-4);
    expect(parity.argmax_agreement).toBe(1);
    // The logits are not degenerate (a broken import would give constant or NaN outputs).
    const logits = (c.model.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor[])[0]!.dataSync();
    expect(new Set(Array.from(logits)).size).toBe(logits.length);
  });

  it('freezing the first half after the import keeps those weights bit-identical through a training step', async () => {
    const c = b0();
    const loaded = await loadKerasWeights(c.model, file);
    expect(loaded.ok).toBe(true);
    const frozen = layersToFreeze(c.backbones[0]!, 0.5);
    freezeLayers(c.model, frozen);
    const frozenWithWeights = frozen.filter((n) => c.model.getLayer(n).weights.length > 0);
    expect(frozenWithWeights).toContain('block1a_bn');
    expect(frozenWithWeights).not.toContain('top_conv');
    const snapshot = new Map<string, Float32Array[]>();
    for (const name of [...frozenWithWeights, 'top_conv', 'top_bn']) snapshot.set(name, await layerWeights(c, name));

    // One step as the train loop takes it: gradients of the trainable weights, training mode.
    const vars = c.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    const { grads } = tf.variableGrads(() => {
      const [p, col] = c.model.apply(x, { training: true }) as tf.Tensor[];
      return tf.add(tf.mean(tf.square(p!)), tf.mean(tf.square(col!))) as tf.Scalar;
    }, vars);
    tf.train.sgd(0.1).applyGradients(grads);

    for (const name of frozenWithWeights) {
      const after = await layerWeights(c, name);
      after.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(snapshot.get(name)![i]!.buffer)), `${name} weight ${i}`).toBe(true));
    }
    // The unfrozen part did move (weights by the optimizer, BatchNorm statistics by the forward pass).
    expect(await layerWeights(c, 'top_conv')).not.toEqual(snapshot.get('top_conv'));
    const [, , movingMean] = await layerWeights(c, 'top_bn');
    expect(movingMean).not.toEqual(snapshot.get('top_bn')![2]);
  });
});

describe('resolvePretrainedWeights', () => {
  /** A port on 127.0.0.1 with nothing listening: a connection there is refused at once, as offline. */
  async function refusingPort(): Promise<number> {
    const probe = createServer();
    const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as AddressInfo).port)));
    await new Promise((r) => probe.close(r));
    return port;
  }

  it('imagenet without network and without a cached copy says where to put the file (no network: a refusing local port)', async () => {
    const cacheDir = join(dir, 'empty-cache');
    const url = `http://127.0.0.1:${await refusingPort()}/efficientnetb0_notop.h5`;
    const result = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir, source: { ...IMAGENET_B0_NOTOP, url } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(`cannot download the ImageNet weights from ${url} (ECONNREFUSED)`);
    expect(result.message).toContain(`offline? put efficientnetb0_notop.h5 (from ${url}, md5 50bc09e76180e00e4465e1a485ddc09d) at ${join(cacheDir, 'keras', 'efficientnetb0_notop.h5')}`);
    expect(existsSync(join(cacheDir, 'keras', 'efficientnetb0_notop.h5'))).toBe(false);
  });

  it('a server that answers 404 gives the HTTP status and caches nothing', async () => {
    const server: Server = createServer((_req, res) => res.writeHead(404).end());
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
    const cacheDir = join(dir, 'cache-404');
    const url = `http://127.0.0.1:${port}/efficientnetb0_notop.h5`;
    try {
      const result = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir, source: { ...IMAGENET_B0_NOTOP, url } });
      expect(result.ok ? '' : result.message).toContain(`downloading ${url} failed: HTTP 404; put efficientnetb0_notop.h5`);
    } finally {
      server.close();
    }
    expect(existsSync(join(cacheDir, 'keras', 'efficientnetb0_notop.h5'))).toBe(false);
  });

  it('downloads once into the cache, verified by its hash, then works from the cache alone', async () => {
    const body = Buffer.from('pretend these are weights');
    const md5 = createHash('md5').update(body).digest('hex');
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
    const cacheDir = join(dir, 'cache');
    const source = { url: `http://127.0.0.1:${port}/w.h5`, fileName: 'w.h5', md5 };
    try {
      const wrong = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir, source: { ...source, md5: '0'.repeat(32) } });
      expect(wrong.ok ? '' : wrong.message).toContain(`gave a file with md5 ${md5}, not the published ${'0'.repeat(32)}: not cached`);
      expect(existsSync(join(cacheDir, 'keras', 'w.h5'))).toBe(false);

      const first = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir, source });
      expect(first).toEqual({ ok: true, value: { path: join(cacheDir, 'keras', 'w.h5'), sha256: createHash('sha256').update(body).digest('hex'), via: 'download' } });
    } finally {
      server.close();
    }
    const second = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir, source });
    expect(second.ok && second.value.via).toBe('cache');
    expect(requests).toBe(2);
  });

  it('refuses a cached file whose hash is not the published one', async () => {
    const cacheDir = join(dir, 'bad-cache');
    mkdirSync(join(cacheDir, 'keras'), { recursive: true });
    writeFileSync(join(cacheDir, 'keras', 'efficientnetb0_notop.h5'), 'truncated');
    const result = await resolvePretrainedWeights('imagenet', { root: dir, cacheDir });
    expect(result.ok ? '' : result.message).toMatch(/efficientnetb0_notop\.h5 is not Keras' efficientnetb0_notop\.h5 \(md5 [0-9a-f]{32}, expected 50bc09e76180e00e4465e1a485ddc09d\): delete it and retry/);
  });

  it('takes a path relative to the project root, and names it when it does not exist', async () => {
    writeFileSync(join(dir, 'mine.h5'), 'x');
    const found = await resolvePretrainedWeights('mine.h5', { root: dir });
    expect(found.ok && found.value).toEqual({ path: join(dir, 'mine.h5'), sha256: createHash('sha256').update('x').digest('hex'), via: 'path' });
    const missing = await resolvePretrainedWeights('weights/none.h5', { root: dir });
    expect(missing.ok ? '' : missing.message).toBe(`model.pretrained: ${join(dir, 'weights/none.h5')} does not exist`);
  });
});
