import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SchemaRequest } from './schema-child';
import {
  PgworkError,
  adapterHelper,
  childFile,
  runChild,
  describeDatabaseError,
  globFiles,
  hashDirectory,
  hashParts,
  installedPackage,
  oneOf,
  requireDirectory,
  runPackageCli,
  rewritingClient,
  type Adapter,
  type AdapterContext,
  type MigrationTarget,
} from '@pgwork/core/adapter';

export interface DrizzleOptions {
  /** "push" (default): the schema as `drizzle-kit push` creates it. "migrations": apply the committed `drizzle-kit generate` output with drizzle-orm's migrator. */
  mode?: 'push' | 'migrations';
  /** Your drizzle config, relative to Jest's rootDir. Default "drizzle.config.ts". */
  config?: string;
  /** Migrations folder for mode "migrations". Default: the config's `out`, else "drizzle". */
  migrations?: string;
}

/** The parts of drizzle.config that shape the pushed schema or name the migrations. */
interface DrizzleConfig {
  dialect?: string;
  schema?: string | string[];
  out?: string;
  schemaFilter?: string | string[];
  tablesFilter?: string | string[];
  extensionsFilters?: string[];
  casing?: string;
  migrations?: { table?: string; schema?: string };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;

/** For the Jest config: `withPgwork(config, { adapter: drizzle() })`. */
export const drizzle = adapterHelper<DrizzleOptions | undefined>(__filename);

/** drizzle-kit loads TypeScript with tsx: do the same, so a file means what it means to drizzle-kit. */
function asDrizzleKitLoads(module: string, option: string, rootDir: string) {
  const kit = installedPackage('drizzle-kit', rootDir);
  return { module, option, searchFrom: [...(kit ? [kit.dir] : []), rootDir], preferred: ['tsx/cjs'] };
}

async function readConfig(configPath: string, rootDir: string): Promise<DrizzleConfig> {
  if (!existsSync(configPath)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `the drizzle config ${configPath} does not exist; create it or set drizzle({ config }).`,
    );
  }
  const config = await runChild<DrizzleConfig>(childFile(__dirname, 'config-child'), configPath, {
    cwd: rootDir,
    loads: asDrizzleKitLoads(configPath, 'drizzle({ config })', rootDir),
    failure: (error) =>
      new PgworkError('INVALID_OPTION', `cannot load the drizzle config ${configPath}: ${error.message}`),
  });
  if (config.dialect !== 'postgresql') {
    throw new PgworkError(
      'INVALID_OPTION',
      `${configPath} has dialect ${JSON.stringify(config.dialect)}; pgwork needs "postgresql".`,
    );
  }
  return config;
}

const list = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function createAdapter(options: DrizzleOptions = {}, context: AdapterContext): Adapter {
  const mode = oneOf(
    options.mode ?? 'push',
    ['push', 'migrations'],
    `drizzle({ mode: ${JSON.stringify(options.mode)} })`,
  );
  const configPath = resolve(context.rootDir, options.config ?? 'drizzle.config.ts');
  let config: Promise<DrizzleConfig> | undefined;
  let statements: Promise<string[]> | undefined;
  const loadConfig = () => (config ??= readConfig(configPath, context.rootDir));
  const migrationsFolder = (c: DrizzleConfig) => resolve(context.rootDir, options.migrations ?? c.out ?? 'drizzle');
  return {
    name: 'drizzle',
    async describe() {
      const c = await loadConfig();
      const schemaFiles = globFiles(context.rootDir, list(c.schema));
      if (schemaFiles.length === 0) {
        throw new PgworkError(
          'INVALID_OPTION',
          `the schema ${JSON.stringify(c.schema)} in ${configPath} matches no file; fix schema in the drizzle config.`,
        );
      }
      const versions = ['drizzle-orm', 'drizzle-kit'].map(
        (name) => installedPackage(name, context.rootDir)?.version ?? 'not installed',
      );
      const fingerprint = hashParts([
        'drizzle',
        VERSION,
        ...versions,
        mode,
        JSON.stringify([c.schemaFilter, c.tablesFilter, c.extensionsFilters, c.casing, c.migrations]),
        ...schemaFiles.flatMap((file) => [file.slice(context.rootDir.length), readFileSync(file)]),
        mode === 'migrations' ? hashDirectory(requireDirectory(migrationsFolder(c), 'drizzle({ migrations })')) : '',
      ]);
      const migrationsTable = `${c.migrations?.schema ?? 'drizzle'}.${c.migrations?.table ?? '__drizzle_migrations'}`;
      const bookkeepingTables = mode === 'migrations' ? [migrationsTable] : [];
      return {
        fingerprint,
        bookkeepingTables,
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate(target) {
      const c = await loadConfig();
      if (mode === 'migrations') await applyMigrations(target, context.rootDir, migrationsFolder(c), c);
      else if (target.schema) {
        for (const statement of await (statements ??= generateStatements(context.rootDir, c))) {
          await target.client.query(inSchema(statement, target.schema));
        }
      } else await push(target, context.rootDir, c);
    },
  };
}

/** `drizzle-kit push --force`, with the config's schema and filters, aimed at the target by URL. */
async function push(target: MigrationTarget, rootDir: string, config: DrizzleConfig): Promise<void> {
  const args = ['push', '--force', '--dialect', 'postgresql', '--url', target.url];
  if (config.casing) args.push('--casing', config.casing);
  for (const [flag, value] of [
    ['--schema', config.schema],
    ['--schemaFilter', config.schemaFilter],
    ['--tablesFilter', config.tablesFilter],
    ['--extensionsFilters', config.extensionsFilters],
  ] as const) {
    for (const item of list(value)) args.push(flag, item);
  }
  const { code, output, detail } = await runPackageCli('drizzle-kit', 'bin.cjs', args, {
    rootDir,
    timeoutMs: 120_000,
    neededBy: 'drizzle({ mode: "push" })',
    otherwise: 'use mode "migrations"',
  });
  if (/created or renamed|\u276f/.test(output)) {
    throw new PgworkError(
      'MIGRATION_FAILED',
      'drizzle-kit push asked an interactive question (a rename it cannot decide); answer it once with `drizzle-kit push` by hand, or use drizzle({ mode: "migrations" }).',
    );
  }
  // drizzle-kit can print an error and still exit 0.
  if (code !== 0 || /error/i.test(detail)) {
    throw new PgworkError('MIGRATION_FAILED', `drizzle-kit push failed (exit code ${code}): ${detail}`);
  }
}

/** drizzle-orm's own migrator over the committed `drizzle-kit generate` output. */
async function applyMigrations(
  target: MigrationTarget,
  rootDir: string,
  folder: string,
  config: DrizzleConfig,
): Promise<void> {
  requireDirectory(folder, 'drizzle({ migrations })');
  const load = (path: string) => require(require.resolve(path, { paths: [rootDir] }));
  const { drizzle: connect } = load('drizzle-orm/node-postgres');
  const { migrate } = load('drizzle-orm/node-postgres/migrator');
  try {
    // Schema isolation: the migrations' "public" and drizzle's bookkeeping schema both become the worker's.
    const schema = target.schema;
    const client = schema ? rewritingClient(target.client, (sql) => inSchema(sql, schema)) : target.client;
    await migrate(connect({ client }), {
      migrationsFolder: folder,
      migrationsTable: config.migrations?.table,
      migrationsSchema: schema ?? config.migrations?.schema,
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause ? describeDatabaseError(cause) : describeDatabaseError(error);
    throw new PgworkError('MIGRATION_FAILED', `drizzle-orm's migrator failed on ${folder}: ${detail}`, {
      cause: error,
    });
  }
}

/** The "public" schema named in drizzle-kit's DDL, moved to the worker's schema (unquoted it never appears). */
const inSchema = (sql: string, schema: string) => sql.replaceAll('"public".', `"${schema}".`);

/**
 * Schema isolation, push mode: drizzle-kit's CREATE statements for the schema
 * files (generated once per run, in a child process: the files are TypeScript),
 * each with "public" moved to the worker's schema.
 */
function generateStatements(rootDir: string, config: DrizzleConfig): Promise<string[]> {
  const files = globFiles(rootDir, list(config.schema));
  const loads = asDrizzleKitLoads(files[0]!, 'schema in the drizzle config', rootDir);
  const request: SchemaRequest = { rootDir, files, casing: config.casing };
  const failure = (error: Error) =>
    new PgworkError('MIGRATION_FAILED', `drizzle-kit could not generate the schema: ${error.message}`);
  return runChild<string[]>(childFile(__dirname, 'schema-child'), request, { cwd: rootDir, loads, failure });
}
