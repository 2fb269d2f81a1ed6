import type { Run } from '../setup/run';

/** Jest's globalSetup and globalTeardown run in the same process: each project's run is handed over here. */
const ACTIVE_RUNS = Symbol.for('pgwork.activeRuns');

export function activeRuns(): Map<string, Run> {
  const slot = globalThis as Record<symbol, Map<string, Run> | undefined>;
  return (slot[ACTIVE_RUNS] ??= new Map());
}
