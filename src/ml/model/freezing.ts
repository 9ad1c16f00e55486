/**
 * Freezing the first part of a backbone for fine-tuning, as Keras does it: frozen
 * layers get no gradient, and BatchNorm inside them runs in inference mode (moving
 * statistics, no updates) even while the rest of the model trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from './efficientnet.ts';

/** The layer names to freeze: the stem plus the first `ratio` of the blocks (none for ratio 0). */
export function layersToFreeze(backbone: Backbone, ratio: number): string[] {
  const nBlocks = Math.floor(backbone.blocks.length * ratio);
  if (nBlocks <= 0) return [];
  return [...backbone.stemLayers, ...backbone.blocks.slice(0, nBlocks).flatMap((b) => b.layers)];
}

type CallArgs = Parameters<tf.layers.Layer['call']>;

/** Freeze the named layers of `model`; returns how many weights were frozen. */
export function freezeLayers(model: tf.LayersModel, names: string[]): number {
  let frozen = 0;
  for (const name of names) {
    const layer = model.getLayer(name);
    layer.trainable = false;
    frozen += layer.countParams();
    if (layer.getClassName() === 'BatchNormalization') {
      // tfjs' BatchNormalization looks only at kwargs.training, not at `trainable`:
      // force inference mode so frozen statistics stay put (Keras' fine-tuning rule).
      const call = layer.call.bind(layer);
      layer.call = (inputs: CallArgs[0], kwargs: CallArgs[1]) => call(inputs, { ...kwargs, training: false });
    }
  }
  return frozen;
}
