/**
 * Runs `work(item)` for every item, at most `width` at a time, in order of the items; resolves when all
 * are done, rejects with the first failure (the others already started still run to their end). For
 * batches of API writes: thousands of requests at once open as many connections and outlast their
 * timeouts in the API server's queue.
 */
export async function inParallel<T>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
}
