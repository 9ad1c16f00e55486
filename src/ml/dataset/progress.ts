// Kept only so src/synth/generate.ts (not this module's owner) still resolves: the one progress module is src/ml/progress.ts.
export { Progress } from '../progress.ts';
