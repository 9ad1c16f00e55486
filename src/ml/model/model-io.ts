/**
 * Saving and loading a tfjs LayersModel to a folder (`model.json` + `weights.bin`,
 * the `file://` format), since @tensorflow/tfjs has no file system handler in Node.
 * Saving writes into a temporary sibling folder and renames it into place, so a
 * reader never sees half a model.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** Write `model` to `dir` atomically (replacing what was there); returns the weight bytes written. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<number> {
  let bytes = 0;
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData == null ? new Uint8Array(0) : new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    bytes = data.byteLength;
    const modelJson = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
    };
    await writeFile(join(tmp, WEIGHTS_BIN), data);
    await writeFile(join(tmp, MODEL_JSON), JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  await replaceDir(tmp, dir);
  return bytes;
}

/** Move `from` over `to` (rename; the old `to` is removed first). */
async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  await rename(to, old).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  await rename(from, to);
  await rm(old, { recursive: true, force: true });
}

/** The IO handler that reads a saved folder (for tf.loadLayersModel). */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as {
        modelTopology: object; format?: string; generatedBy?: string; convertedBy?: string | null;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      };
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(await readFile(join(dir, p)));
      }
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const weightData = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) { weightData.set(b, off); off += b.byteLength; }
      return {
        modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined, weightSpecs: specs, weightData: weightData.buffer,
      };
    },
  };
}

/** Load a model saved by `saveModel` (or any tfjs `file://` layers model folder). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dir));
}
