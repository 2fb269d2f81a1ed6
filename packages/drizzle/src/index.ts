import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SchemaRequest } from './schema-child';
import {
  PgworkError,
  adapterHelper,
  ChildError,
  childFile,
  runChild,
  describeDatabaseError,
  globFiles,
  hashDirectory,
  hashParts,
  installedPackage,
  requireDirectory,
  runProcess,
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
  const loads = asDrizzleKitLoads(configPath, 'drizzle({ config })', rootDir);
  const config = await runChild<DrizzleConfig>(childFile(__dirname, 'config-child'), configPath, {
    cwd: rootDir,
    loads,
  }).catch((error: unknown) => {
    if (!(error instanceof ChildError)) throw error;
    throw new PgworkError('INVALID_OPTION', `cannot load the drizzle config ${configPath}: ${error.message}`);
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
  const mode = options.mode ?? 'push';
  if (mode !== 'push' && mode !== 'migrations') {
    throw new PgworkError(
      'INVALID_OPTION',
      `drizzle({ mode: ${JSON.stringify(mode)} }) is not a mode; use "push" or "migrations".`,
    );
  }
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
  const kit = installedPackage('drizzle-kit', rootDir);
  if (!kit)
    throw new PgworkError(
      'INVALID_OPTION',
      `drizzle({ mode: "push" }) needs drizzle-kit in ${rootDir}; install it (pnpm add -D drizzle-kit) or use mode "migrations".`,
    );
  const args = [join(kit.dir, 'bin.cjs'), 'push', '--force', '--dialect', 'postgresql', '--url', target.url];
  for (const schema of list(config.schema)) args.push('--schema', schema);
  for (const [flag, value] of [
    ['--schemaFilter', config.schemaFilter],
    ['--tablesFilter', config.tablesFilter],
    ['--extensionsFilters', config.extensionsFilters],
  ] as const) {
    for (const item of list(value)) args.push(flag, item);
  }
  if (config.casing) args.push('--casing', config.casing);
  const { code, output } = await runProcess(process.execPath, args, { cwd: rootDir, timeoutMs: 120_000 });
  const clean = output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  if (/created or renamed|\u276f/.test(clean)) {
    throw new PgworkError(
      'MIGRATION_FAILED',
      'drizzle-kit push asked an interactive question (a rename it cannot decide); answer it once with `drizzle-kit push` by hand, or use drizzle({ mode: "migrations" }).',
    );
  }
  if (
    code !== 0 ||
    /error/i.test(
      clean
        .split('\n')
        .filter((line) => !/warning/i.test(line))
        .join('\n'),
    )
  ) {
    const detail =
      clean
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /error|fail/i.test(line))
        .slice(0, 2)
        .join(' ') || clean.trim().split('\n').pop();
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
    const client = schema ? rewriting(target.client, (sql) => inSchema(sql, schema)) : target.client;
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
  return runChild<string[]>(childFile(__dirname, 'schema-child'), request, { cwd: rootDir, loads }).catch(
    (error: unknown) => {
      if (!(error instanceof ChildError)) throw error;
      throw new PgworkError('MIGRATION_FAILED', `drizzle-kit could not generate the schema: ${error.message}`);
    },
  );
}

/** The client with every statement's text passed through `rewrite` first. */
function rewriting(client: MigrationTarget['client'], rewrite: (sql: string) => string): MigrationTarget['client'] {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (query: unknown, ...rest: unknown[]) => {
        // node-postgres takes the text alone, or a config object with a text field.
        const rewritten =
          typeof query === 'string'
            ? rewrite(query)
            : typeof query === 'object' && query && 'text' in query
              ? { ...query, text: rewrite(String(query.text)) }
              : query;
        return (target.query as (...args: unknown[]) => unknown)(rewritten, ...rest);
      };
    },
  });
}
