// An ONNX value during translation: its name, its Keras (NHWC) shape and how it is laid out.
import type { GraphBuilder } from './graph-builder.ts';

/**
 * 'nchw': a rank-4 tensor stored channels-first (ONNX Conv's layout);
 * 'plain': stored exactly as tfjs holds it. Layout changes are inserted lazily, only where
 * an op needs the other one, so a conv stack runs without transposes.
 */
export type Layout = 'nchw' | 'plain';

export interface OnnxValue {
  name: string;
  /** Keras shape, batch first (null), channels last. */
  shape: Array<number | null>;
  layout: Layout;
  /**
   * Zero padding [top, left, bottom, right] not yet applied: a ZeroPadding2D whose only
   * consumer is a 'valid' convolution leaves it for that Conv's own pads (one op fewer).
   */
  pendingPads?: [number, number, number, number];
}

export function asNchw(g: GraphBuilder, v: OnnxValue): OnnxValue {
  if (v.pendingPads) throw new Error(`bug: ${v.name} has unapplied padding`);
  if (v.layout === 'nchw') return v;
  if (v.shape.length !== 4) throw new Error(`bug: ${v.name} has rank ${v.shape.length}, not 4, and cannot be made NCHW`);
  return { ...v, name: g.op('Transpose', [v.name], `${v.name}_to_nchw`, { perm: [0, 3, 1, 2] }), layout: 'nchw' };
}

export function asPlain(g: GraphBuilder, v: OnnxValue): OnnxValue {
  if (v.layout === 'plain') return v;
  return { ...v, name: g.op('Transpose', [v.name], `${v.name}_to_nhwc`, { perm: [0, 2, 3, 1] }), layout: 'plain' };
}

/** Maps a Keras axis of a rank-4 NHWC tensor to the NCHW axis holding the same data. */
export function nchwAxis(kerasAxis: number): number {
  const a = kerasAxis < 0 ? kerasAxis + 4 : kerasAxis;
  return [0, 2, 3, 1][a];
}
