import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { ConfigAnswer } from './config-child';
import {
  PgworkError,
  adapterHelper,
  applyScripts,
  childFile,
  installedPackage,
  oneOf,
  runChild,
  runPackageCli,
  describeDatabaseError,
  hashDirectory,
  hashParts,
  listFiles,
  requireDirectory,
  type Adapter,
  type AdapterContext,
  type Ledger,
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
  let fromConfig: ConfigAnswer = {};
  let configFile = options.config ? fromRoot(options.config) : undefined;
  const pkg = prismaPackage(rootDir);
  if (
    (!options.schema || !options.migrations) &&
    pkg &&
    (configFile || existsSync(join(rootDir, 'prisma.config.ts')))
  ) {
    fromConfig = await readPrismaConfig(pkg.dir, rootDir, configFile);
    configFile = fromConfig.file ?? configFile;
  }
  const schema = options.schema
    ? fromRoot(options.schema)
    : (fromConfig.schema ?? packageJsonSchema(rootDir) ?? defaultSchema(rootDir));
  if (!existsSync(schema)) {
    const fix = 'fix prisma({ schema }) or the schema path in prisma.config.ts';
    throw new PgworkError('INVALID_OPTION', `the Prisma schema ${schema} does not exist; ${fix}.`);
  }
  const beside = statSync(schema).isDirectory() ? schema : dirname(schema);
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

function readPrismaConfig(prismaDir: string, rootDir: string, configFile: string | undefined) {
  // Prisma's own loader (TypeScript configs, env()), in a child process: it needs real dynamic import().
  const file = configFile ?? join(rootDir, 'prisma.config.ts');
  const failure = (error: Error) =>
    new PgworkError(
      'INVALID_OPTION',
      `cannot read the Prisma config ${file}: ${error.message}; fix it or pass prisma({ schema, migrations }).`,
    );
  const request = { prismaDir, rootDir, configFile };
  return runChild<ConfigAnswer>(childFile(__dirname, 'config-child'), request, { cwd: rootDir, failure });
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
  const mode = oneOf(
    options.mode ?? 'in-process',
    ['in-process', 'cli'],
    `prisma({ mode: ${JSON.stringify(options.mode)} })`,
  );
  let paths: Promise<ResolvedPaths> | undefined;
  const resolved = () => (paths ??= resolvePaths(options, context.rootDir));
  return {
    name: 'prisma',
    async describe() {
      const { migrations } = await resolved();
      const prismaVersion = prismaPackage(context.rootDir)?.version ?? 'not installed';
      migrationDirectories(migrations);
      // Only the migrations shape the database: a schema.prisma edit without a migration changes nothing there.
      const fingerprint = hashParts(['prisma', VERSION, prismaVersion, mode, hashDirectory(migrations)]);
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
  const scripts = migrationDirectories(migrations).map((name) => ({
    name,
    path: join(migrations, name, 'migration.sql'),
  }));
  await applyScripts(client, scripts, PRISMA_LEDGER);
}

const PRISMA_LEDGER: Ledger = {
  create: `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
  )`,
  applied: `SELECT migration_name AS name FROM "${MIGRATIONS_TABLE}" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  async apply(client, { name, sql }) {
    const id = randomUUID();
    const checksum = createHash('sha256').update(sql).digest('hex');
    await client.query(
      `INSERT INTO "${MIGRATIONS_TABLE}" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
      [id, checksum, name],
    );
    try {
      await client.query(sql);
    } catch (error) {
      const logs = describeDatabaseError(error, sql);
      await client.query(`UPDATE "${MIGRATIONS_TABLE}" SET logs = $2 WHERE id = $1`, [id, logs]).catch(() => undefined);
      throw error;
    }
    await client.query(
      `UPDATE "${MIGRATIONS_TABLE}" SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1`,
      [id],
    );
  },
};

const ENGINE_TROUBLE =
  /schema[- ]engine|binaries\.prisma\.sh|fetch[^\n]*engine|engine[^\n]*(download|not found)|ENOTFOUND|EAI_AGAIN/i;

/** Runs the project's own `prisma migrate deploy` with DATABASE_URL aimed at the target. */
export async function migrateWithCli(target: MigrationTarget, rootDir: string, config?: string): Promise<void> {
  const args = ['migrate', 'deploy', ...(config ? ['--config', config] : [])];
  const env = { ...process.env, DATABASE_URL: target.url, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
  const { code, output, detail } = await runPackageCli('prisma', 'build/index.js', args, {
    rootDir,
    env,
    neededBy: 'prisma({ mode: "cli" })',
    otherwise: 'use mode "in-process"',
  });
  if (code === 0) return;
  if (ENGINE_TROUBLE.test(output)) {
    throw new PgworkError(
      'MIGRATION_FAILED',
      `the Prisma CLI could not start its schema engine (${detail}); use prisma({ mode: "in-process" }), which needs no engine binary.`,
    );
  }
  throw new PgworkError('MIGRATION_FAILED', `prisma migrate deploy failed (exit code ${code}): ${detail}`);
}
