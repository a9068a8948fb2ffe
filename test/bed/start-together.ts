// Starting several parts of a test bed at once. With a bare Promise.all, when one fails the
// others still start, unowned: the test's after() never sees them, and a QEMU or a server left
// running keeps the test process alive. Here, when one fails, those that started are stopped,
// then the first failure is thrown.

/** Something of the test bed that can be stopped (a guest, a server) or closed (a gateway). */
export type Stoppable = { stop(): Promise<unknown> } | { close(): Promise<unknown> };

export async function startTogether<T extends readonly Stoppable[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failure) return settled.map((s) => (s as PromiseFulfilledResult<Stoppable>).value) as unknown as T;
  await Promise.allSettled(
    settled.flatMap((s) => (s.status === 'fulfilled' ? [('stop' in s.value ? s.value.stop() : s.value.close()) as Promise<unknown>] : [])),
  );
  throw failure.reason;
}
