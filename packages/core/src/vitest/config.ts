import { assertDistinctProjects } from '../shared/binding';
import { PgworkError } from '../shared/errors';
import { resolveOptions, type PgworkOptions } from '../setup/options';
import { OPTIONS_KEY, vitestEntryPoints } from './wiring';

/** The parts of a Vitest config pgwork touches; everything else passes through unchanged. */
export interface VitestConfigLike {
  test?: VitestTestConfigLike;
  [option: string]: unknown;
}

interface VitestTestConfigLike {
  name?: string | { label: string };
  globalSetup?: string | string[];
  setupFiles?: string | string[];
  provide?: Record<string, unknown>;
  projects?: unknown[];
  forceRerunTriggers?: string[];
  [option: string]: unknown;
}

/** Vitest's own default, kept when pgwork adds its triggers: a change to these reruns every test file. */
const VITEST_RERUN_TRIGGERS = ['**/package.json/**', '**/{vitest,vite}.config.*/**'];
/** Migrations are not in any test file's import graph: a change to one must still rerun (and rebuild the template). */
const MIGRATION_TRIGGERS = ['**/*.sql', '**/*.prisma'];

/**
 * The one change a Vitest config needs: `export default defineConfig(withPgwork(config, { adapter }))`.
 * Adds pgwork's globalSetup and setupFiles (first, so the app sees its worker's
 * database from its first import) and its options. Inline `test.projects` each get
 * pgwork and a run of their own, keyed by the project's name.
 */
export function withPgwork<Config extends VitestConfigLike>(config: Config, options: PgworkOptions): Config {
  resolveOptions(options, {}); // fail at config time for a malformed option, whatever the environment says
  const test = config.test ?? {};
  if (test.projects === undefined) return { ...config, test: wrapTest(test, options) };
  const projects = test.projects.map((project, index) => {
    const inline = project as VitestConfigLike | undefined;
    const own = inline?.test;
    if (typeof project !== 'object' || project === null || !own || own.name === undefined) {
      const fix = "give each inline project a test.name, or wrap a project's own config file with withPgwork";
      throw new PgworkError('INVALID_OPTION', `test.projects[${index}] is not an inline project with a name; ${fix}.`);
    }
    return { inline, test: own, name: typeof own.name === 'object' ? own.name.label : own.name };
  });
  // Vitest hands each project's run to that project's workers: only the same name is the same run.
  assertDistinctProjects(
    projects.map(({ name }) => name),
    (name) => name,
    'give each its own test.name',
  );
  const wrapped = projects.map(({ inline, test: own }) => ({ ...inline, test: wrapTest(own, options) }));
  return { ...config, test: { ...test, projects: wrapped } };
}

function wrapTest(test: VitestTestConfigLike, options: PgworkOptions): VitestTestConfigLike {
  if (test.provide?.[OPTIONS_KEY] !== undefined) {
    throw new PgworkError('INVALID_OPTION', 'this Vitest config is already wrapped by withPgwork; wrap it once.');
  }
  const list = (value: string | string[] | undefined) => (value === undefined ? [] : [value].flat());
  return {
    ...test,
    globalSetup: [vitestEntryPoints.globalSetup, ...list(test.globalSetup)],
    setupFiles: [vitestEntryPoints.setupFiles, ...list(test.setupFiles)],
    provide: { ...test.provide, [OPTIONS_KEY]: JSON.parse(JSON.stringify(options)) },
    forceRerunTriggers: [...(test.forceRerunTriggers ?? VITEST_RERUN_TRIGGERS), ...MIGRATION_TRIGGERS],
  };
}
