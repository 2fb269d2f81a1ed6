import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { ConfigAnswer } from './config-child';
import {
  PgworkError,
  adapterHelper,
  ChildError,
  childFile,
  runChild,
  installedPackage,
  runProcess,
  describeDatabaseError,
  hashDirectory,
  hashParts,
  listFiles,
  requireDirectory,
  type Adapter,
  type AdapterContext,
  type MigrationTarget,
} from '@pgwork/core/adapter';

export interface PrismaOptions {
  /**
   * "in-process" (default): apply prisma/migrations/*\/migration.sql directly and record them in
   * _prisma_migrations exactly as `prisma migrate deploy` does; no CLI, no engine binary.
   * "cli": run the project's own `prisma migrate deploy` against the template.
   */
  mode?: 'in-process' | 'cli';
  /** prisma.config.ts to read paths from. Default: the one Prisma finds in Jest's rootDir. */
  config?: string;
  /** Schema file or folder; overrides the config. Default "prisma/schema.prisma". */
  schema?: string;
  /** Migrations folder; overrides the config. Default "prisma/migrations". */
  migrations?: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;
export const MIGRATIONS_TABLE = '_prisma_migrations';

/** For the Jest config: `withPgwork(config, { adapter: prisma() })`. */
export const prisma = adapterHelper<PrismaOptions | undefined>(__filename);

interface ResolvedPaths {
  schema: string;
  migrations: string;
  config?: string;
}

const prismaPackage = (rootDir: string) => installedPackage('prisma', rootDir);

/**
 * Paths from the options, else from prisma.config.ts (Prisma 6.6+ and 7, loaded
 * with Prisma's own loader, so TypeScript configs work), else from package.json's
 * "prisma.schema" (Prisma 5 and 6), else Prisma's defaults: prisma/schema.prisma,
 * then schema.prisma. Migrations default to the folder beside the schema, as Prisma puts them.
 */
async function resolvePaths(options: PrismaOptions, rootDir: string): Promise<ResolvedPaths> {
  const fromRoot = (path: string) => resolve(rootDir, path);
  let fromConfig: { schema?: string; migrations?: { path?: string } } = {};
  let configFile = options.config ? fromRoot(options.config) : undefined;
  const pkg = prismaPackage(rootDir);
  if (
    (!options.schema || !options.migrations) &&
    pkg &&
    (configFile || existsSync(join(rootDir, 'prisma.config.ts')))
  ) {
    const loaded = await readPrismaConfig(pkg.dir, rootDir, configFile);
    fromConfig = loaded.config;
    configFile = loaded.file;
  }
  const schema = options.schema
    ? fromRoot(options.schema)
    : (fromConfig.schema ?? packageJsonSchema(rootDir) ?? defaultSchema(rootDir));
  const beside = existsSync(schema) && statSync(schema).isDirectory() ? schema : dirname(schema);
  return {
    schema,
    migrations: options.migrations
      ? fromRoot(options.migrations)
      : (fromConfig.migrations?.path ?? join(beside, 'migrations')),
    config: configFile,
  };
}

/** Prisma 5 and 6 read the schema path from package.json: { "prisma": { "schema": "db/schema.prisma" } }. */
function packageJsonSchema(rootDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as {
      prisma?: { schema?: unknown };
    };
    return typeof manifest.prisma?.schema === 'string' ? resolve(rootDir, manifest.prisma.schema) : undefined;
  } catch {
    return undefined;
  }
}

function defaultSchema(rootDir: string): string {
  const candidates = [join(rootDir, 'prisma/schema.prisma'), join(rootDir, 'schema.prisma')];
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

async function readPrismaConfig(prismaDir: string, rootDir: string, configFile: string | undefined) {
  // Prisma's own loader (TypeScript configs, env()), in a child process: it needs real dynamic import().
  const request = { prismaDir, rootDir, configFile };
  try {
    const result = await runChild<ConfigAnswer>(childFile(__dirname, 'config-child'), request, { cwd: rootDir });
    return { config: { schema: result.schema, migrations: result.migrations }, file: result.file ?? configFile };
  } catch (error) {
    if (!(error instanceof ChildError)) throw error;
    const file = configFile ?? join(rootDir, 'prisma.config.ts');
    throw new PgworkError(
      'INVALID_OPTION',
      `cannot read the Prisma config ${file}: ${error.message}; fix it or pass prisma({ schema, migrations }).`,
    );
  }
}

function schemaFiles(schema: string): { dir: string; files: string[] } {
  if (existsSync(schema) && statSync(schema).isDirectory())
    return { dir: schema, files: listFiles(schema, (p) => p.endsWith('.prisma')) };
  if (!existsSync(schema)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `the Prisma schema ${schema} does not exist; fix prisma({ schema }) or the schema path in prisma.config.ts.`,
    );
  }
  return { dir: dirname(schema), files: [schema.slice(dirname(schema).length + 1)] };
}

/** Migration folders in the order `prisma migrate deploy` applies them. */
export function migrationDirectories(migrations: string): string[] {
  requireDirectory(migrations, 'prisma({ migrations })');
  const lock = join(migrations, 'migration_lock.toml');
  if (existsSync(lock)) {
    const provider = /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lock, 'utf8'))?.[1];
    if (provider && provider !== 'postgresql') {
      throw new PgworkError(
        'INVALID_OPTION',
        `${lock} says provider "${provider}"; pgwork needs "postgresql" migrations.`,
      );
    }
  }
  const dirs = listFiles(migrations, (p) => /^[^/]+\/migration\.sql$/.test(p)).map((p) => p.split('/')[0]!);
  if (dirs.length === 0) {
    throw new PgworkError(
      'INVALID_OPTION',
      `no migrations in ${migrations}; create one with \`prisma migrate dev\`, or point prisma({ migrations }) at your folder.`,
    );
  }
  return dirs.sort();
}

export function createAdapter(options: PrismaOptions = {}, context: AdapterContext): Adapter {
  const mode = options.mode ?? 'in-process';
  if (mode !== 'in-process' && mode !== 'cli') {
    throw new PgworkError(
      'INVALID_OPTION',
      `prisma({ mode: ${JSON.stringify(mode)} }) is not a mode; use "in-process" or "cli".`,
    );
  }
  let paths: Promise<ResolvedPaths> | undefined;
  const resolved = () => (paths ??= resolvePaths(options, context.rootDir));
  return {
    name: 'prisma',
    async describe() {
      const { schema, migrations } = await resolved();
      const prismaVersion = prismaPackage(context.rootDir)?.version ?? 'not installed';
      const schemaSource = schemaFiles(schema);
      migrationDirectories(migrations);
      const fingerprint = hashParts([
        'prisma',
        VERSION,
        prismaVersion,
        mode,
        hashParts(schemaSource.files.map((f) => readFileSync(join(schemaSource.dir, f)))),
        hashDirectory(migrations),
      ]);
      // Migrations name no schema, and the URL's search_path and ?schema= put them (and _prisma_migrations) in a worker's.
      const bookkeepingTables = [`public.${MIGRATIONS_TABLE}`];
      return {
        fingerprint,
        bookkeepingTables,
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate(target) {
      const { migrations, config } = await resolved();
      if (mode === 'cli') await migrateWithCli(target, context.rootDir, config);
      else await applyMigrations(target, migrations);
    },
  };
}

/**
 * What `prisma migrate deploy` does on Postgres, without the engine: create
 * _prisma_migrations, and per migration record the start, run migration.sql as
 * one simple-protocol script (one implicit transaction, as Prisma runs it), then
 * record finished_at and applied_steps_count = 1. The checksum is the SHA-256
 * of migration.sql, so `prisma migrate status` agrees.
 */
export async function applyMigrations({ client }: MigrationTarget, migrations: string): Promise<void> {
  const names = migrationDirectories(migrations);
  await client.query(`CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
  )`);
  const done = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM "${MIGRATIONS_TABLE}" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Set(done.rows.map((row) => row.migration_name));
  for (const name of names) {
    if (applied.has(name)) continue;
    const script = readFileSync(join(migrations, name, 'migration.sql'));
    const id = randomUUID();
    await client.query(
      `INSERT INTO "${MIGRATIONS_TABLE}" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
      [id, createHash('sha256').update(script).digest('hex'), name],
    );
    try {
      await client.query(script.toString('utf8'));
    } catch (error) {
      await client
        .query(`UPDATE "${MIGRATIONS_TABLE}" SET logs = $2 WHERE id = $1`, [id, describeDatabaseError(error)])
        .catch(() => undefined);
      throw new PgworkError(
        'MIGRATION_FAILED',
        `migration ${name} (${join(migrations, name)}) failed: ${describeDatabaseError(error)}`,
        { cause: error },
      );
    }
    await client.query(
      `UPDATE "${MIGRATIONS_TABLE}" SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1`,
      [id],
    );
  }
}

const ENGINE_TROUBLE =
  /schema[- ]engine|binaries\.prisma\.sh|fetch[^\n]*engine|engine[^\n]*(download|not found)|ENOTFOUND|EAI_AGAIN/i;

/** Runs the project's own `prisma migrate deploy` with DATABASE_URL aimed at the target. */
export async function migrateWithCli(
  target: MigrationTarget,
  rootDir: string,
  config: string | undefined,
): Promise<void> {
  const pkg = prismaPackage(rootDir);
  if (!pkg)
    throw new PgworkError(
      'INVALID_OPTION',
      `prisma({ mode: "cli" }) needs the prisma package in ${rootDir}; install it (pnpm add -D prisma) or use mode "in-process".`,
    );
  const cli = join(pkg.dir, 'build', 'index.js');
  const args = [cli, 'migrate', 'deploy', ...(config ? ['--config', config] : [])];
  const env = { ...process.env, DATABASE_URL: target.url, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
  const { code, output } = await runProcess(process.execPath, args, { cwd: rootDir, env });
  if (code === 0) return;
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const detail = lines.find((line) => /error|failed|P\d{4}/i.test(line)) ?? lines.pop() ?? `exit code ${code}`;
  if (ENGINE_TROUBLE.test(output)) {
    throw new PgworkError(
      'MIGRATION_FAILED',
      `the Prisma CLI could not start its schema engine (${detail}); use prisma({ mode: "in-process" }), which needs no engine binary.`,
    );
  }
  throw new PgworkError('MIGRATION_FAILED', `prisma migrate deploy failed (exit code ${code}): ${detail}`);
}
