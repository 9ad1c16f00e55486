/**
 * "Learned or memorised?": per source, the model's accuracy on its own (un-augmented)
 * training images beside its test accuracy, read as a plain verdict.
 */

export type LearnedVerdict = 'not learned' | 'memorised' | 'learned' | 'fits, not tested';

/** Below this train-fit part top-1 the model has not even fit the source's own training images. */
export const NOT_LEARNED_BELOW = 0.5;
/** A train-fit this many points above test accuracy is memorising rather than generalising. */
export const MEMORISED_GAP = 0.2;

/** What each verdict means, one line each (shown under the report's table). */
export const VERDICT_MEANINGS: Record<LearnedVerdict, string> = {
  'not learned': `the model gets under ${NOT_LEARNED_BELOW * 100}% of this source's own training images right: it has not learned them, so they cannot teach the test task.`,
  memorised: `the model fits this source's training images at least ${MEMORISED_GAP * 100} points better than the held-out test images: it remembers them more than it generalises from them.`,
  learned: 'the model fits the training images and does about as well on the held-out test images: what it learned carries over.',
  'fits, not tested': 'the model fits this source\'s training images; the test split holds none of its images, so whether that carries over is not measured here.',
};

/**
 * `trainFit` = part top-1 on the source's training sample; `test` = part top-1 on its test
 * images, null when the test split has none (only the evaluated source is tested).
 */
export function learnedVerdict(trainFit: number, test: number | null): LearnedVerdict {
  if (trainFit < NOT_LEARNED_BELOW) return 'not learned';
  if (test === null) return 'fits, not tested';
  // Rounded to points, so 0.7 vs 0.5 (a float gap of 0.19999...) is the 20 points it reads as.
  return Math.round((trainFit - test) * 1e9) >= Math.round(MEMORISED_GAP * 1e9) ? 'memorised' : 'learned';
}
