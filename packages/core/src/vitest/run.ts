import { availableParallelism } from 'node:os';
import type { Run } from '../setup/run';
import { finishRunnerRun, startRunnerRun } from '../setup/runner-run';
import type { RunnerEnv } from '../setup/server-and-env';
import { OPTIONS_KEY, STATE_KEY } from './wiring';

/** The parts of Vitest's TestProject pgwork's globalSetup uses (Vitest 3.2 and later). */
export interface VitestProjectLike {
  readonly name: string;
  readonly config: {
    readonly root: string;
    readonly maxWorkers?: number;
    readonly provide?: Record<string, unknown>;
    /** test.env: set in this project's workers, not in the process globalSetup runs in. */
    readonly env?: Record<string, unknown>;
  };
  /** The Vitest instance: its config is the root one, which holds the command line's --maxWorkers. */
  readonly vitest?: {
    readonly config: { readonly maxWorkers?: number; readonly watch?: boolean; readonly env?: Record<string, unknown> };
  };
  provide(key: string, value: unknown): void;
  onTestsRerun?(callback: () => void | Promise<void>): void;
}

/**
 * How many workers Vitest will run the project's files in, worked out as Vitest
 * 4 does: the project's own maxWorkers (the command line's --maxWorkers does not reach
 * an inline project that sets one), else the root config's (where --maxWorkers
 * lands), else Vitest's default, all cores but one (half of them in watch mode).
 * A run of fewer files uses fewer: Vitest does not tell its globalSetup the files.
 */
export function vitestWorkerCount(project: Pick<VitestProjectLike, 'config' | 'vitest'>): number {
  const configured = project.config.maxWorkers || project.vitest?.config.maxWorkers;
  if (configured) return configured;
  const cores = availableParallelism();
  return Math.max(1, project.vitest?.config.watch ? Math.floor(cores / 2) : cores - 1);
}

/**
 * What Vitest sets in this project's workers and not in this process: the root
 * config's test.env, then the project's (Vitest's own order), e.g. a .env file
 * loaded with `env: loadEnv(mode, process.cwd(), '')`.
 */
export function vitestTestEnv(project: Pick<VitestProjectLike, 'config' | 'vitest'>): RunnerEnv | undefined {
  const values = { ...project.vitest?.config.env, ...project.config.env };
  return Object.keys(values).length ? { values, where: 'test.env of the Vitest config' } : undefined;
}

/**
 * Vitest globalSetup: starts the run as the Jest binding does and provides its
 * state to the workers. In watch mode every rerun is a run of its own (the
 * template rebuilt when the schema changed, fresh worker databases), so a rerun
 * sees what a new `vitest run` would. Returns the teardown.
 */
export async function vitestGlobalSetup(project: VitestProjectLike): Promise<() => Promise<void>> {
  const name = project.name || undefined;
  const write = (text: string) => process.stderr.write(text);
  const start = async () => {
    const run = await startRunnerRun({
      options: project.config.provide?.[OPTIONS_KEY],
      rootDir: project.config.root,
      maxWorkers: vitestWorkerCount(project),
      project: name,
      runnerEnv: vitestTestEnv(project),
      write,
    });
    project.provide(STATE_KEY, JSON.stringify(run.state));
    return run;
  };
  let run: Run | undefined = await start();
  project.onTestsRerun?.(async () => {
    const previous = run;
    run = undefined;
    if (previous) await finishRunnerRun(previous, name, write);
    run = await start();
  });
  return async () => {
    const last = run;
    run = undefined;
    if (last) await finishRunnerRun(last, name, write);
  };
}
