/**
 * The learning-rate schedule: linear warm-up to the base rate, then cosine decay to a
 * floor, evaluated per optimizer step.
 */
export interface ScheduleConfig {
  baseLr: number;        // the plan: 1e-4
  minLr: number;         // floor reached at the last step
  warmupSteps: number;   // the plan: 3 epochs' worth
  totalSteps: number;
}

/** Learning rate for optimizer step `step` (0-based). */
export function learningRateAt(step: number, c: ScheduleConfig): number {
  if (c.warmupSteps > 0 && step < c.warmupSteps) return (c.baseLr * (step + 1)) / c.warmupSteps;
  const decaySteps = Math.max(1, c.totalSteps - c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / decaySteps);
  return c.minLr + 0.5 * (c.baseLr - c.minLr) * (1 + Math.cos(Math.PI * progress));
}
