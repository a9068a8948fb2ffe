// The one percentile of the benchmarks: the value below which `p` percent of the samples lie
// (nearest rank, on a sorted copy).
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
