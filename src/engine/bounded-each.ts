// Runs async work over many items with a cap on how many run at once (parallel transfers,
// batched existence checks) so a big batch neither serialises nor floods a server.

/** Runs `work` on every item, at most `limit` at once; rejects with the first failure. */
export async function boundedEach<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (err) {
        failed = true; // the other workers stop taking new items
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
