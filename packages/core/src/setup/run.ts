import type { Client } from 'pg';
import { isolationOf } from '../isolation';
import type { Isolation, RunServer, RunStart, SetupContext, StartedRun } from '../isolation/contract';
import { runLease } from '../admin/owned';
import {
  assertSupported,
  describeAdapter,
  type Adapter,
  type AdapterDescription,
  type AdapterReference,
  type MigrationTarget,
} from '../shared/adapter';
import { connect } from '../shared/connection';
import { PgworkError, describeDatabaseError } from '../shared/errors';
import { lock, unlock } from '../shared/locks';
import { databaseUrl, newRunId, templateDatabaseName } from '../shared/naming';
import type { WorkerSettings } from '../shared/run-state';
import { assertCanCreateDatabases, assertCanCreateSchemas, assertConnectionBudget } from './checks';
import { attachEmbeddedCluster, type EmbeddedCluster } from './cluster';
import type { ResolvedOptions } from './options';
import { loadSeed, type Seed } from './seed';
import { collectTemplates, ensureTemplate, templateFingerprint } from './template';

/** Everything globalSetup knows when it starts a run: the resolved options and what the runner says. */
export interface RunConfig extends Omit<ResolvedOptions, 'adapter' | 'baseName'> {
  readonly adapter: Adapter;
  readonly baseName: string;
  /** What workers load when the adapter has its own reset. */
  readonly adapterReference?: AdapterReference;
  readonly rootDir: string;
  /** The runner's worker count: checked against the server's free connections. */
  readonly workers: number;
  /** The run's workers, prepared now (database isolation: the first 16; it clones the rest on demand). */
  readonly workerIds: readonly number[];
  readonly optionsDigest?: string;
  /** The project of a multi-project config. */
  readonly project?: string;
  /** The slots this run leased for workerEnv's {slot} (setup/slots.ts). */
  readonly slotBase?: number;
}

export interface Run extends StartedRun {
  readonly unit: 'database' | 'schema';
}

/**
 * globalSetup's work, whatever the isolation: ask the adapter what it is and
 * refuse what it cannot do, then hand the mode its context (how to begin a run
 * on a server, build the template, migrate a target) and let it start the run.
 */
export async function startRun(config: RunConfig): Promise<Run> {
  const project = await describeProject(config);
  const isolation = isolationOf(config.isolation);
  const started = await isolation.start(setupContext(config, project, isolation));
  return { ...started, unit: isolation.unit };
}

/** What a project's options lead to before anything touches a server: what `pgwork doctor` checks too. */
export interface ProjectDescription {
  readonly description: AdapterDescription;
  readonly seed: Seed | undefined;
  /** The template workers are cloned from, in modes that clone one (Isolation.clonesTemplate). */
  readonly template: { readonly name: string; readonly fingerprint: string };
}

/** Asks the adapter what it is, refuses what it cannot do, and names the template for it. */
export async function describeProject(
  config: Pick<RunConfig, 'adapter' | 'isolation' | 'reset' | 'seed' | 'rootDir' | 'baseName'>,
): Promise<ProjectDescription> {
  const description = await describeAdapter(config.adapter);
  assertSupported(config.adapter, description, config.isolation, config.reset);
  const seed = config.seed ? loadSeed(config.seed, config.rootDir) : undefined;
  const fingerprint = templateFingerprint(config.adapter.name, description.fingerprint, seed);
  return { description, seed, template: { name: templateDatabaseName(config.baseName, fingerprint), fingerprint } };
}

function setupContext(
  config: RunConfig,
  { description, seed, template }: ProjectDescription,
  isolation: Isolation,
): SetupContext {
  const settings: WorkerSettings = Object.freeze({
    env: config.env,
    workerEnv: config.workerEnv,
    services: config.services.length ? config.services : undefined,
    checkEnv: config.checkEnv,
    keepTables: [...description.bookkeepingTables, ...config.keepTables],
    reset: config.reset,
    resetBefore: config.resetBefore,
    resetBeforeForced: config.resetBeforeForced,
    rootDir: config.rootDir,
    adapter: config.adapter.reset ? config.adapterReference : undefined,
    optionsDigest: config.optionsDigest,
    slotBase: config.slotBase,
    keepFailed: config.keepFailed || undefined,
  });
  const build = async (target: MigrationTarget, what: string) => {
    try {
      await config.adapter.migrate(target);
    } catch (error) {
      const detail =
        error instanceof PgworkError ? error.message.replace(/^pgwork: /, '') : describeDatabaseError(error);
      throw new PgworkError('MIGRATION_FAILED', `adapter ${config.adapter.name} could not migrate ${what}: ${detail}`, {
        cause: error,
      });
    }
    await seed?.run(target, config.server.source);
  };
  return {
    baseName: config.baseName,
    project: config.project,
    maintenanceDatabase: config.maintenanceDatabase,
    server: config.server,
    disable: config.disable,
    keep: config.keep,
    workerIds: config.workerIds,
    settings,
    begin: (server, database) =>
      beginRun(server, config.rootDir, database, async (admin, source) => {
        await (isolation.createsDatabases ? assertCanCreateDatabases(admin) : assertCanCreateSchemas(admin));
        await assertConnectionBudget(admin, config.workers, config.connectionsPerWorker, source);
      }),
    template: async (start) => {
      const { name, fingerprint } = template;
      const ensured = await ensureTemplate({
        start,
        name,
        fingerprint,
        adapter: config.adapter.name,
        rebuild: config.rebuild,
        build: (target) => build(target, `the template ${target.database}`),
      });
      const dropped = await collectTemplates(start.admin, config.baseName, name, config.keepTemplates);
      return { ...ensured, dropped };
    },
    build,
  };
}

/**
 * Starts the embedded server when none is configured, connects to the database
 * `databaseOf` names, runs the up-front checks, and takes the run's lease: held
 * as long as this connection lives, so a killed run frees it at once.
 */
async function beginRun(
  server: RunServer,
  rootDir: string,
  databaseOf: (serverUrl: string) => string,
  checks: (admin: Client, source: string) => Promise<void>,
): Promise<RunStart> {
  let embedded: EmbeddedCluster | undefined;
  let admin: Client | undefined;
  const runId = newRunId();
  const end = async () => {
    if (admin) await unlock(admin, runLease(runId)).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await embedded?.detach();
  };
  try {
    if (server.url === undefined) {
      const notice = (line: string) => process.stderr.write(`${line}\n`);
      embedded = await attachEmbeddedCluster({ rootDir, name: server.cluster, major: server.embeddedMajor, notice });
    }
    const url = server.url ?? embedded!.url;
    admin = await connect(databaseUrl(url, databaseOf(url)), {
      source: server.source,
      applicationName: `pgwork run ${runId}`,
    });
    await checks(admin, server.source);
    await lock(admin, runLease(runId));
    const { rows } = await admin.query<{ version: string; number: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS number`,
    );
    return {
      runId,
      server: Object.freeze({ url, appUrl: embedded?.appUrl, source: server.source }),
      admin,
      embeddedDirectory: embedded?.directory,
      serverVersion: rows[0]!.version,
      serverVersionNumber: Number(rows[0]!.number),
      end,
    };
  } catch (error) {
    await end().catch(() => undefined);
    throw error;
  }
}
