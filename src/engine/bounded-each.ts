// Runs async work over many items with a cap on how many run at once (parallel transfers,
// batched existence checks) so a big batch neither serialises nor floods a server.

/**
 * Runs `work` on every item, at most `limit` at once. The first failure stops new items from
 * starting; it rejects with that failure once the items already running have settled, so no
 * work is still writing when the caller cleans up.
 */
export async function boundedEach<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed) throw failed.err;
}
