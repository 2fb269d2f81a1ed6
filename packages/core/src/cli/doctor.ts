import { relative } from 'node:path';
import { describeDatabase, notOwnedError } from '../admin/databases';
import { isolationOf } from '../isolation';
import type { RunServer } from '../isolation/contract';
import { runLiveness } from '../admin/owned';
import { EMBEDDED_SOURCE, PgworkError, describeDatabaseError, maskUrl } from '../shared/errors';
import { attachEmbeddedCluster } from '../setup/cluster';
import {
  assertCanCreateDatabases,
  assertCanCreateSchemas,
  assertConnectionBudget,
  DEFAULT_CONNECTIONS_PER_WORKER,
} from '../setup/checks';
import type { ProjectDescription } from '../setup/run';
import type { ResetBefore } from '../shared/modes';
import { turboPassThroughProblem, turboPassesPgworkVariables } from '../setup/turbo';
import { describeCliProject, type CliProject } from './project';
import { openServer, serversOf, type OpenServer } from './servers';

// `pgwork doctor`: the checks a run's globalSetup makes, one line each, without running tests.

export interface Check {
  readonly check: 'config' | 'turbo' | 'adapter' | 'server' | 'role' | 'connections' | 'template';
  readonly ok: boolean;
  /** What was found, or (failed) pgwork's one-line error with the fix. */
  readonly detail: string;
}

export async function doctor(project: CliProject, cwd: string): Promise<Check[]> {
  const checks: Check[] = [];
  const pass = (check: Check['check'], detail: string) => checks.push({ check, ok: true, detail });
  const fail = (check: Check['check'], error: unknown) =>
    checks.push({
      check,
      ok: false,
      detail: error instanceof Error ? error.message.replace(/^pgwork: /, '') : String(error),
    });
  const { options } = project;
  if (!options || !project.configFile) {
    fail(
      'config',
      `no Jest, Vitest or pgwork config with pgwork's options in ${cwd}; run pgwork in the folder of your jest.config, vitest.config or pgwork.config, or pass --config <file>.`,
    );
  } else {
    const name = project.name ? ` (project "${project.name}")` : '';
    pass(
      'config',
      `${relative(cwd, project.configFile) || project.configFile}${name}: base name ${project.baseName}, isolation ${project.isolation}, reset ${options.reset} ${WHEN[options.resetBefore]}, ${project.workers} worker(s)${workerEnvNames(options.workerEnv)}`,
    );
  }
  const turbo = turboPassesPgworkVariables(project.rootDir);
  if (turbo?.passes) pass('turbo', `${turbo.file} passes PGWORK_* variables to tasks`);
  else if (turbo) fail('turbo', turboPassThroughProblem(turbo.file));

  let described: (ProjectDescription & { adapter: string }) | undefined;
  if (options) {
    try {
      described = await describeCliProject(project, options);
      const kept = described.description.bookkeepingTables.join(', ') || 'no bookkeeping tables';
      pass(
        'adapter',
        `${described.adapter} read the project: fingerprint ${described.template.fingerprint.slice(0, 16)}, keeps ${kept}`,
      );
    } catch (error) {
      fail('adapter', error);
    }
  }

  const isolation = isolationOf(project.isolation);
  // The server a run would use first (server isolation: worker 1's), and the workers it serves.
  const [first] = serversOf(project);
  let server: OpenServer | undefined;
  let detach: () => Promise<void>;
  try {
    ({ server, detach } = await openFirstServer(project, first!.server));
    pass('server', `PostgreSQL ${server.version}, ${server.label}`);
  } catch (error) {
    fail('server', error);
    return checks;
  }
  try {
    await roleCheck(project, server).then(
      (detail) => pass('role', detail),
      (error) => fail('role', error),
    );
    const { workers } = first!;
    const perWorker = options?.connectionsPerWorker ?? DEFAULT_CONNECTIONS_PER_WORKER;
    await assertConnectionBudget(server.admin, workers, perWorker, server.source).then(
      ({ needed, free }) =>
        pass(
          'connections',
          `${workers} worker(s) x (${perWorker} app + 2 pgwork) = ${needed} of ${free} free connections`,
        ),
      (error) => fail('connections', error),
    );
    if (described && !isolation.clonesTemplate)
      pass(
        'template',
        `${project.isolation} isolation migrates each worker's ${isolation.unit} when the run starts; no template`,
      );
    else if (described)
      await templateState(server, described).then(
        (detail) => pass('template', detail),
        (error) => fail('template', error),
      );
  } finally {
    await server.close();
    await detach();
  }
  return checks;
}

/** Opens the server a run would use first, started as a run would start it. */
async function openFirstServer(
  project: CliProject,
  choice: RunServer,
): Promise<{ server: OpenServer; detach: () => Promise<void> }> {
  if (choice.url !== undefined) {
    const server = await openServer(
      choice.url,
      choice.source,
      `${maskUrl(choice.url)} (from ${choice.source})`,
      project,
    );
    return { server, detach: async () => undefined };
  }
  const cluster = await attachEmbeddedCluster({
    rootDir: project.rootDir,
    name: choice.cluster,
    major: choice.embeddedMajor,
  });
  const how = cluster.created ? 'created now' : cluster.started ? 'started now' : 'running';
  try {
    const server = await openServer(
      cluster.url,
      EMBEDDED_SOURCE,
      `the kept embedded cluster in ${cluster.directory} (${how})`,
      project,
    );
    return { server, detach: () => cluster.detach() };
  } catch (error) {
    await cluster.detach();
    throw error;
  }
}

async function roleCheck(project: CliProject, server: OpenServer): Promise<string> {
  if (isolationOf(project.isolation).createsDatabases) {
    await assertCanCreateDatabases(server.admin);
    return 'may create databases';
  }
  if (!server.schemas) {
    throw new PgworkError(
      'DATABASE_ERROR',
      `the database ${server.protectedDatabases[0]} that ${server.source} names does not exist; create it, ${project.isolation} isolation makes its schemas there.`,
    );
  }
  await assertCanCreateSchemas(server.schemas);
  return `may create schemas in ${server.protectedDatabases[0]}`;
}

async function templateState(server: OpenServer, described: ProjectDescription): Promise<string> {
  const { name } = described.template;
  try {
    const found = await describeDatabase(server.admin, name);
    if (found?.marker?.state === 'ready' && found.isTemplate) return `${name} is built; the next run clones it`;
    if (found?.marker?.state === 'building' && (await runLiveness(server.admin)(found.marker.run)))
      return `${name} is being built by run ${found.marker.run} now`;
    if (found && !found.marker) throw notOwnedError(name);
    const steps = described.seed ? 'migrate and seed' : 'migrate';
    return `${name} does not exist yet; the next run builds it (${steps})`;
  } catch (error) {
    if (error instanceof PgworkError) throw error;
    throw new PgworkError('DATABASE_ERROR', describeDatabaseError(error));
  }
}

const WHEN: Record<ResetBefore, string> = {
  test: 'before each test',
  file: 'before each file',
  never: 'on reset() only',
};

/** The workerEnv variables by name: their values may carry a password. */
function workerEnvNames(workerEnv: Readonly<Record<string, string>>): string {
  const names = Object.keys(workerEnv);
  return names.length ? `, workerEnv ${names.join(', ')}` : '';
}
