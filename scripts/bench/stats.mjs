// Repeated timing and the summary every figure in `pnpm bench` is made of.

export async function time(work) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Runs `measure` (which returns milliseconds) `runs` times and summarises. */
export async function repeat(runs, measure) {
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await measure(i));
  return summarise(samples);
}

export function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  const round = (value) => Math.round(value * 100) / 100;
  return { median: round(median), min: round(sorted[0]), max: round(sorted[sorted.length - 1]), runs: sorted.length };
}

export const ratio = (slow, fast) => Math.round((slow / fast) * 10) / 10;

export function progress(message) {
  process.stderr.write(`\r\x1b[2K${message}`);
}
