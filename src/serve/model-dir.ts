// Where `pipeline predict` and `pipeline serve` look for the exported model when not told.
import { join } from 'node:path';
import { findProjectRoot } from '../engine/stage-context.ts';

/** artifacts/onnx of the project around the cwd (so it works from a subfolder), else of the cwd. */
export function defaultModelDir(cwd: string = process.cwd()): string {
  try {
    return join(findProjectRoot(cwd), 'artifacts/onnx');
  } catch {
    return join(cwd, 'artifacts/onnx');
  }
}
