// Under Vitest a test's vi.useFakeTimers() replaces the very globals node-postgres
// and Node's sockets use (there is no sandbox as under Jest): with process.nextTick
// faked, a failing pgwork query would wait forever for its error. pgwork's own
// steps run with the timers this module saw when it loaded, then the fakes return.
type Timers = Record<(typeof NAMES)[number], unknown> & { nextTick: unknown };

const NAMES = [
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'queueMicrotask',
] as const;
const global = globalThis as unknown as Record<string, unknown>;
const current = (): Timers =>
  Object.assign(Object.fromEntries(NAMES.map((name) => [name, global[name]])), {
    nextTick: process.nextTick,
  }) as Timers;
const install = (timers: Timers) => {
  for (const name of NAMES) global[name] = timers[name];
  process.nextTick = timers.nextTick as typeof process.nextTick;
};
const REAL = current();

/**
 * Runs one of pgwork's steps on the timers this module saw when it loaded, and
 * keeps the process alive meanwhile: pgwork's own connections are unref'd (they
 * must never keep a finished test process alive), and a process with no other
 * handle (node:test's file processes) would exit mid-query, its test cancelled.
 */
export async function withRealTimers<T>(work: () => Promise<T>): Promise<T> {
  const now = current();
  const real = Object.entries(now).every(([name, value]) => REAL[name as keyof Timers] === value);
  if (!real) install(REAL);
  const hold = (REAL.setInterval as typeof setInterval)(() => undefined, 1 << 30);
  try {
    return await work();
  } finally {
    (REAL.clearInterval as typeof clearInterval)(hold);
    if (!real) install(now);
  }
}
