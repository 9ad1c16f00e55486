// Scales this machine's latency to the target device: a fixed slowdown factor, or one calibrated by timing EfficientNet-B0 at 224 px here.
import * as ort from 'onnxruntime-node';
import { timeCalls, type LatencyStats } from '../latency.ts';
import { buildClassifier } from '../model/classifier.ts';
import { openSession } from './ort-session.ts';
import { exportToOnnx } from './tfjs-to-onnx.ts';

export interface DeviceSettings {
  name: string;
  /** Fixed factor (device ms / desktop ms of the public benchmark). */
  slowdown_factor: number;
  /** The device's published EfficientNet-B0 FP32 224 px onnxruntime latency, for calibration. */
  reference_ms: number;
  /** Time the same reference model here and use reference_ms / host ms as the factor. */
  calibrate: boolean;
}

export interface DeviceFactor {
  factor: number;
  method: 'fixed' | 'calibrated';
  /** This machine's B0@224 latency when calibrated. */
  host_reference?: LatencyStats;
}

/** B0 at 224 px, the benchmark's model (random weights: latency does not depend on their values). */
export async function hostReferenceLatency(threads: number, runs = 10): Promise<LatencyStats> {
  const { model } = buildClassifier({ inputSize: 224, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0, headUnits: 512, headDropout: 0, nParts: 1000, nColors: 1, architecture: 'multitask' });
  const session = await openSession(exportToOnnx(model).bytes, threads);
  model.dispose();
  const input = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.1), [1, 3, 224, 224]);
  const stats = await timeCalls(() => session.run({ image: input }), 3, runs);
  await session.release();
  return stats;
}

export async function deviceFactor(device: DeviceSettings, threads: number): Promise<DeviceFactor> {
  if (!device.calibrate) return { factor: device.slowdown_factor, method: 'fixed' };
  const host = await hostReferenceLatency(threads);
  return { factor: Math.round((device.reference_ms / host.p50) * 1000) / 1000, method: 'calibrated', host_reference: host };
}
