import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINDING_GLOBAL, assertDistinctProjects, type BindingData } from '../shared/binding';
import { PgworkError } from '../shared/errors';
import { runStateVariable } from '../shared/run-state';
import { resolveOptions, type PgworkOptions } from '../setup/options';

/** The parts of a Jest config pgwork touches; everything else passes through unchanged. */
export interface JestConfigLike {
  displayName?: string | { name: string; color?: string };
  globalSetup?: string | null;
  globalTeardown?: string | null;
  setupFiles?: string[];
  setupFilesAfterEnv?: string[];
  globals?: Record<string, unknown>;
  projects?: unknown;
  [option: string]: unknown;
}

export const entryPoints = Object.freeze({
  globalSetup: require.resolve('./global-setup'),
  globalTeardown: require.resolve('./global-teardown'),
  setupFiles: require.resolve('./setup-env'),
  setupFilesAfterEnv: require.resolve('./setup-after-env'),
});

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;

/**
 * The one change a Jest config needs: `export default withPgwork(config, { adapter })`.
 * Adds pgwork's four entry points and stores the options in `globals.pgwork`.
 * A config with inline `projects` gets pgwork in every project, each with its
 * own run; the config's own globalSetup and globalTeardown are kept, run after
 * pgwork's setup and before its teardown.
 */
export function withPgwork<Config extends JestConfigLike>(config: Config, options: PgworkOptions): Config {
  resolveOptions(options, {}); // fail at config time for a malformed option, whatever the environment says
  if (config.projects !== undefined) return withPgworkInProjects(config, options);
  return wrapProject(config, options, projectName(config));
}

function withPgworkInProjects<Config extends JestConfigLike>(config: Config, options: PgworkOptions): Config {
  if (!Array.isArray(config.projects))
    throw new PgworkError('INVALID_OPTION', 'projects must be a list of Jest project configs.');
  const projects = config.projects.map((project: unknown, index) => {
    if (typeof project !== 'object' || project === null) {
      throw new PgworkError(
        'INVALID_OPTION',
        `projects[${index}] is ${JSON.stringify(project)}, a path pgwork cannot reach from here; wrap that project's own config with withPgwork(config, options) and give it a displayName.`,
      );
    }
    return project as JestConfigLike;
  });
  const names = projects.map((project, index) => projectName(project) ?? `project${index + 1}`);
  // Each project's run reaches the workers in a variable named after it (runStateVariable).
  assertDistinctProjects(names, runStateVariable, 'give each project its own displayName');
  return { ...config, projects: projects.map((project, index) => wrapProject(project, options, names[index])) };
}

function projectName(config: JestConfigLike): string | undefined {
  const name = typeof config.displayName === 'object' ? config.displayName?.name : config.displayName;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !PROJECT_NAME.test(name)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `displayName ${JSON.stringify(name)} cannot key a pgwork run; use letters, digits, space, ".", "_" or "-".`,
    );
  }
  return name;
}

function wrapProject<Config extends JestConfigLike>(
  config: Config,
  options: PgworkOptions,
  project: string | undefined,
): Config {
  if (config.globals?.pgwork !== undefined) {
    throw new PgworkError(
      'INVALID_OPTION',
      'this Jest config is already wrapped by withPgwork (globals.pgwork is set); wrap it once.',
    );
  }
  const own = Object.values(entryPoints);
  for (const hook of ['globalSetup', 'globalTeardown'] as const) {
    if (own.includes(config[hook] ?? '') || /@pgwork\/core\/jest\//.test(config[hook] ?? '')) {
      throw new PgworkError(
        'INVALID_OPTION',
        `${hook} is already pgwork's; withPgwork adds it, so remove it from your config.`,
      );
    }
  }
  const binding: BindingData = {
    project,
    globalSetup: config.globalSetup ?? undefined,
    globalTeardown: config.globalTeardown ?? undefined,
  };
  const hooks = project ? projectHooks(project) : entryPoints;
  return {
    ...config,
    globalSetup: hooks.globalSetup,
    globalTeardown: hooks.globalTeardown,
    setupFiles: [entryPoints.setupFiles, ...(config.setupFiles ?? [])],
    setupFilesAfterEnv: [entryPoints.setupFilesAfterEnv, ...(config.setupFilesAfterEnv ?? [])],
    globals: { ...config.globals, pgwork: options, [BINDING_GLOBAL]: JSON.parse(JSON.stringify(binding)) },
  };
}

/**
 * Jest runs one globalSetup per distinct file, for the first project naming it:
 * every project's run needs a file of its own. Each is two lines handing over to
 * pgwork's, written (atomically, same content every time) under the temp directory.
 */
function projectHooks(project: string): { globalSetup: string; globalTeardown: string } {
  const dir = join(tmpdir(), 'pgwork-jest-hooks', createHash('sha256').update(__dirname).digest('hex').slice(0, 16));
  const file = createHash('sha256').update(project).digest('hex').slice(0, 12);
  mkdirSync(dir, { recursive: true });
  const write = (hook: 'globalSetup' | 'globalTeardown') => {
    const path = join(dir, `${file}-${hook}.js`);
    const content = `// pgwork: the ${hook} of Jest project ${JSON.stringify(project)}.\nmodule.exports = require(${JSON.stringify(entryPoints[hook])});\n`;
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // not written yet
    }
    if (current !== content) {
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, content);
      renameSync(temporary, path);
    }
    return path;
  };
  return { globalSetup: write('globalSetup'), globalTeardown: write('globalTeardown') };
}
