import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { BINDING_GLOBAL, type BindingData } from '../shared/binding';
import { PgworkError, firstLine } from '../shared/errors';
import { envOrOption } from '../shared/choices';
import { ISOLATION_MODES, type IsolationMode } from '../shared/modes';
import { parseDatabaseUrl, validateBaseName } from '../shared/naming';
import { loadAdapter } from '../shared/adapter';
import { findPgworkConfig, isPgworkConfig, readPgworkConfig } from '../setup/config-file';
import { projectBaseName, resolveOptions, type ResolvedOptions } from '../setup/options';
import { describeProject, type ProjectDescription } from '../setup/run';
import { chooseServer, type RunnerEnv, type ServerChoice } from '../setup/server-and-env';
import { OPTIONS_KEY } from '../vitest/wiring';
import { vitestTestEnv } from '../vitest/run';

// What the CLI works on: the projects of the user's Jest or Vitest config,
// read with the runner's own loader, so `pgwork` sees the options a run would.

export interface CliFlags {
  readonly url?: string;
  readonly baseName?: string;
  readonly config?: string;
  readonly workers?: number;
}

export interface CliProject {
  /** The project's name in a multi-project config. */
  readonly name: string | undefined;
  /** The config file it came from; undefined: flags and environment only. */
  readonly configFile: string | undefined;
  readonly rootDir: string;
  /** The options as a run resolves them; undefined without a config. */
  readonly options: ResolvedOptions | undefined;
  readonly baseName: string;
  /**
   * No config and no --base-name: the base name names no project (it is the
   * folder's own), so ls, clean and url look at every project's.
   */
  readonly anyBaseName: boolean;
  readonly server: ServerChoice;
  readonly maintenanceDatabase: string;
  readonly isolation: IsolationMode;
  /** The runner's worker count (--workers, the config's maxWorkers, or the runner's default). */
  readonly workers: number;
}

const JEST_CONFIGS = ['ts', 'js', 'mjs', 'cjs', 'mts', 'cts', 'json'].map((ext) => `jest.config.${ext}`);
const VITEST_CONFIGS = ['vitest', 'vite'].flatMap((name) =>
  ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((ext) => `${name}.config.${ext}`),
);
/** A config file Vitest reads, as opposed to Jest's. */
const VITEST_CONFIG_FILE = /^(vitest|vite)\.config\.[cm]?[jt]s$/;

/** The projects `pgwork` works on in `cwd`: from --config, a Jest or Vitest config there, or flags alone. */
export async function readProjects(
  cwd: string,
  flags: CliFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliProject[]> {
  const file = flags.config ? resolve(cwd, flags.config) : findConfig(cwd);
  if (flags.config && !existsSync(file!)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `--config ${flags.config}: no such file in ${cwd}; name your Jest, Vitest or pgwork config.`,
    );
  }
  if (!file) return [projectOf(undefined, { name: undefined, rootDir: cwd, options: undefined }, flags, env)];
  const found = isPgworkConfig(file)
    ? await readPgwork(file)
    : VITEST_CONFIG_FILE.test(basename(file))
      ? await readVitest(file)
      : await readJest(file);
  if (found.projects.length === 0) {
    throw new PgworkError(
      'INVALID_OPTION',
      `${file} is not wrapped with withPgwork (no pgwork options in it); wrap it as the README says, or pass --config with the config that is.`,
    );
  }
  return found.projects.map((project) =>
    projectOf(file, { ...project, maxWorkers: project.maxWorkers ?? found.maxWorkers }, flags, env),
  );
}

/** What a run of the project would ask its adapter (and refuse), and the template it clones from. */
export async function describeCliProject(
  project: CliProject,
  options: ResolvedOptions,
): Promise<ProjectDescription & { adapter: string }> {
  const adapter = loadAdapter(options.adapter, { rootDir: project.rootDir });
  const described = await describeProject({
    ...options,
    baseName: project.baseName,
    adapter,
    rootDir: project.rootDir,
  });
  return { ...described, adapter: adapter.name };
}

/** A config pgwork can read in `dir`: Jest's first (its package.json key too), then Vitest's, then pgwork's own. */
function findConfig(dir: string): string | undefined {
  const jest = JEST_CONFIGS.map((name) => join(dir, name)).find(existsSync);
  if (jest) return jest;
  const manifest = join(dir, 'package.json');
  if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { jest?: unknown }).jest) return manifest;
  return VITEST_CONFIGS.map((name) => join(dir, name)).find(existsSync) ?? findPgworkConfig(dir);
}

/** pgwork's own config (node:test, Mocha, Bun, `pgwork run`): one project, in the file's folder. */
async function readPgwork(file: string): Promise<{ projects: FoundProject[]; maxWorkers: unknown }> {
  return {
    projects: [{ name: undefined, rootDir: dirname(file), options: await readPgworkConfig(file) }],
    maxWorkers: undefined,
  };
}

interface FoundProject {
  name: string | undefined;
  rootDir: string;
  options: unknown;
  maxWorkers?: unknown;
  /** Vitest's test.env, which chooses the server as it does in a run. */
  runnerEnv?: RunnerEnv;
}

/** Jest's own reader (jest-config, as the installed jest has it), so TypeScript configs load with the loader Jest would use. */
async function readJest(file: string): Promise<{ projects: FoundProject[]; maxWorkers: unknown }> {
  const dir = dirname(file);
  const jestConfig = requireThrough(dir, ['jest', 'jest-cli', 'jest-config'], file) as {
    readInitialOptions(path?: string, options?: { packageRootOrConfig?: string }): Promise<{ config: unknown }>;
  };
  const { config } = await loading(file, () =>
    basename(file) === 'package.json'
      ? jestConfig.readInitialOptions(undefined, { packageRootOrConfig: dir })
      : jestConfig.readInitialOptions(file),
  );
  const root = config as { rootDir?: string; projects?: unknown[]; maxWorkers?: unknown };
  const rootDir = resolve(dir, root.rootDir ?? '.');
  const wrapped = (project: unknown): FoundProject[] => {
    const globals = (project as { globals?: Record<string, unknown> } | null)?.globals;
    if (globals?.pgwork === undefined) return [];
    const own = (project as { rootDir?: string }).rootDir;
    const binding = (globals[BINDING_GLOBAL] ?? {}) as BindingData;
    return [{ name: binding.project, rootDir: own ? resolve(rootDir, own) : rootDir, options: globals.pgwork }];
  };
  const projects = Array.isArray(root.projects) ? root.projects.flatMap(wrapped) : wrapped(root);
  return { projects, maxWorkers: root.maxWorkers };
}

/** Vite's own config loader (as the installed vitest has it), as Vitest reads the file. */
async function readVitest(file: string): Promise<{ projects: FoundProject[]; maxWorkers: unknown }> {
  const dir = dirname(file);
  const vitePath = createRequire(requireThrough(dir, ['vitest'], file, true) as string).resolve('vite');
  const vite = (await import(vitePath)) as {
    loadConfigFromFile(env: object, file: string, root: string, logLevel: string): Promise<{ config: unknown } | null>;
  };
  const loaded = await loading(file, () =>
    vite.loadConfigFromFile({ command: 'serve', mode: 'test' }, file, dir, 'silent'),
  );
  const config = (loaded?.config ?? {}) as { root?: string; test?: Record<string, unknown> };
  const rootDir = resolve(dir, config.root ?? '.');
  const wrapped = (project: { root?: string; test?: Record<string, unknown> }): FoundProject[] => {
    const test = project.test ?? {};
    const options = (test.provide as Record<string, unknown> | undefined)?.[OPTIONS_KEY];
    if (options === undefined) return [];
    const name = typeof test.name === 'object' ? (test.name as { label: string }).label : (test.name as string);
    const runnerEnv = vitestTestEnv({
      config: { root: rootDir, env: test.env as Record<string, unknown> | undefined },
      vitest: { config: { env: config.test?.env as Record<string, unknown> | undefined } },
    });
    return [{ name, rootDir: resolve(rootDir, project.root ?? '.'), options, maxWorkers: test.maxWorkers, runnerEnv }];
  };
  const inline = config.test?.projects;
  const projects = Array.isArray(inline) ? inline.flatMap((p) => wrapped(p as object)) : wrapped(config);
  return { projects, maxWorkers: config.test?.maxWorkers };
}

/** Resolves a chain of packages from the project (pnpm installs a package's dependencies beside it only). */
function requireThrough(dir: string, chain: string[], file: string, resolveOnly = false): unknown {
  let from = join(dir, 'package.json');
  for (const [index, name] of chain.entries()) {
    try {
      const last = index === chain.length - 1;
      const target = createRequire(from).resolve(last && !resolveOnly ? name : `${name}/package.json`);
      if (last) return resolveOnly ? target : require(target);
      from = target;
    } catch {
      throw new PgworkError(
        'INVALID_OPTION',
        `${file} needs ${chain[0]} to be read, and ${dir} cannot load ${name}; install ${chain[0]} in that project, or pass --url and --base-name instead of a config.`,
      );
    }
  }
  return undefined;
}

async function loading<T>(file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof PgworkError) throw error;
    throw new PgworkError(
      'INVALID_OPTION',
      `cannot read ${file}: ${firstLine(String((error as Error)?.message ?? error))}`,
      {
        cause: error,
      },
    );
  }
}

function projectOf(
  configFile: string | undefined,
  { name, rootDir, options: raw, maxWorkers, runnerEnv }: FoundProject,
  flags: CliFlags,
  env: NodeJS.ProcessEnv,
): CliProject {
  const options = configFile ? resolveOptions(raw, env, runnerEnv) : undefined;
  let server = options?.server ?? chooseServer(undefined, env);
  if (flags.url !== undefined) {
    if (flags.url !== 'embedded') parseDatabaseUrl(flags.url, '--url');
    server = Object.freeze({ url: flags.url === 'embedded' ? undefined : flags.url, source: '--url' });
  }
  return Object.freeze({
    name,
    configFile,
    rootDir,
    options,
    anyBaseName: !configFile && !flags.baseName,
    baseName: flags.baseName
      ? validateBaseName(flags.baseName, '--base-name')
      : (options?.baseName ?? projectBaseName(rootDir, name)),
    server,
    maintenanceDatabase: options?.maintenanceDatabase ?? 'postgres',
    isolation:
      options?.isolation ?? envOrOption(env, 'PGWORK_ISOLATION', undefined, 'isolation', 'database', ISOLATION_MODES),
    workers: flags.workers ?? runnerWorkers(maxWorkers),
  });
}

/** The config's maxWorkers (a number or "50%"), else the runner's default: one core left to the runner. */
function runnerWorkers(maxWorkers: unknown): number {
  const cores = availableParallelism();
  if (typeof maxWorkers === 'number' && maxWorkers >= 1) return Math.floor(maxWorkers);
  const percent = typeof maxWorkers === 'string' ? /^(\d+)%$/.exec(maxWorkers) : null;
  if (percent) return Math.max(1, Math.floor((cores * Number(percent[1])) / 100));
  if (typeof maxWorkers === 'string' && /^\d+$/.test(maxWorkers)) return Math.max(1, Number(maxWorkers));
  return Math.max(1, cores - 1);
}
