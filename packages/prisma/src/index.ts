import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { ConfigAnswer } from './config-child';
import {
  PgworkError,
  adapterChoice,
  adapterHelper,
  applyScripts,
  childFile,
  installedPackage,
  runChild,
  runPackageCli,
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

const VERSION: string = require('../package.json').version;
export const MIGRATIONS_TABLE = '_prisma_migrations';

/** For the runner config: `withPgwork(config, { adapter: prisma() })`. */
export const prisma = adapterHelper<PrismaOptions | undefined>(__filename);

type ResolvedPaths = { migrations: string; config?: string };

/**
 * The migrations folder: from the options, else from prisma.config.ts (Prisma 6.6+ and 7,
 * read with Prisma's own loader, so TypeScript configs work), else beside the schema as
 * Prisma finds it: the options, the config, package.json's "prisma.schema" (Prisma 5 and 6),
 * prisma/schema.prisma, schema.prisma.
 */
async function resolvePaths(options: PrismaOptions, rootDir: string): Promise<ResolvedPaths> {
  let config = options.config ? resolve(rootDir, options.config) : undefined;
  if (options.migrations) return { migrations: resolve(rootDir, options.migrations), config };
  const pkg = installedPackage('prisma', rootDir);
  let found: ConfigAnswer = {};
  if (pkg && (config || existsSync(join(rootDir, 'prisma.config.ts')))) {
    found = await readPrismaConfig(pkg.dir, rootDir, config);
    config = found.file ?? config;
  }
  const candidates = ['prisma/schema.prisma', 'schema.prisma'].map((path) => join(rootDir, path));
  const schema = options.schema
    ? resolve(rootDir, options.schema)
    : (found.schema ?? packageJsonSchema(rootDir) ?? candidates.find(existsSync) ?? candidates[0]!);
  if (!existsSync(schema)) {
    const fix = 'fix prisma({ schema }) or the schema path in prisma.config.ts';
    throw new PgworkError('INVALID_OPTION', `the Prisma schema ${schema} does not exist; ${fix}.`);
  }
  const beside = join(statSync(schema).isDirectory() ? schema : dirname(schema), 'migrations');
  return { migrations: found.migrations?.path ?? beside, config };
}

/** Prisma 5 and 6 read the schema path from package.json: { "prisma": { "schema": "db/schema.prisma" } }. */
function packageJsonSchema(rootDir: string): string | undefined {
  try {
    const schema: unknown = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')).prisma?.schema;
    return typeof schema === 'string' ? resolve(rootDir, schema) : undefined;
  } catch {
    return undefined;
  }
}

function readPrismaConfig(prismaDir: string, rootDir: string, configFile: string | undefined) {
  // Prisma's own loader (TypeScript configs, env()), in a child process: it needs real dynamic import().
  const file = configFile ?? join(rootDir, 'prisma.config.ts');
  const fix = 'fix it or pass prisma({ schema, migrations })';
  const failure = (error: Error) =>
    new PgworkError('INVALID_OPTION', `cannot read the Prisma config ${file}: ${error.message}; ${fix}.`);
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
      throw new PgworkError('INVALID_OPTION', `${lock} says provider "${provider}"; pgwork needs "postgresql".`);
    }
  }
  const dirs = listFiles(migrations, (p) => /^[^/]+\/migration\.sql$/.test(p)).map((p) => p.split('/')[0]!);
  if (dirs.length === 0) {
    const fix = 'create one with `prisma migrate dev`, or point prisma({ migrations }) at your folder';
    throw new PgworkError('INVALID_OPTION', `no migrations in ${migrations}; ${fix}.`);
  }
  return dirs.sort();
}

export function createAdapter(options: PrismaOptions = {}, context: AdapterContext): Adapter {
  const mode = adapterChoice('prisma', 'mode', options.mode, ['in-process', 'cli']);
  let paths: Promise<ResolvedPaths> | undefined;
  const resolved = () => (paths ??= resolvePaths(options, context.rootDir));
  return {
    name: 'prisma',
    async describe() {
      const { migrations } = await resolved();
      const prismaVersion = installedPackage('prisma', context.rootDir)?.version ?? '-';
      migrationDirectories(migrations);
      return {
        // Only the migrations shape the database: a schema.prisma edit without a migration changes nothing there.
        fingerprint: hashParts(['prisma', VERSION, prismaVersion, mode, hashDirectory(migrations)]),
        // Migrations name no schema: under schema isolation the URL's search_path puts them in the worker's.
        bookkeepingTables: [`public.${MIGRATIONS_TABLE}`],
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
  // The table as Prisma creates it.
  create: `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" ("id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id"))`,
  applied: `SELECT migration_name AS name FROM "${MIGRATIONS_TABLE}" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  async apply(client, { name, sql }) {
    const startedAt = new Date();
    await client.query(sql);
    const checksum = createHash('sha256').update(sql).digest('hex');
    const columns = 'id, checksum, migration_name, started_at, finished_at, applied_steps_count';
    const values = [randomUUID(), checksum, name, startedAt];
    await client.query(`INSERT INTO "${MIGRATIONS_TABLE}" (${columns}) VALUES ($1, $2, $3, $4, now(), 1)`, values);
  },
};

const ENGINE_TROUBLE =
  /schema[- ]engine|binaries\.prisma\.sh|fetch[^\n]*engine|engine[^\n]*(download|not found)|ENOTFOUND|EAI_AGAIN/i;

/** Runs the project's own `prisma migrate deploy` with DATABASE_URL aimed at the target. */
export async function migrateWithCli(target: MigrationTarget, rootDir: string, config?: string): Promise<void> {
  const args = ['migrate', 'deploy', ...(config ? ['--config', config] : [])];
  const env = { ...process.env, DATABASE_URL: target.url, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
  await runPackageCli('prisma', 'build/index.js', args, {
    rootDir,
    env,
    command: 'prisma migrate deploy',
    neededBy: 'prisma({ mode: "cli" })',
    otherwise: 'use mode "in-process"',
    explain: (output, detail) =>
      ENGINE_TROUBLE.test(output)
        ? `the Prisma CLI could not start its schema engine (${detail}); use prisma({ mode: "in-process" }), which needs no engine binary.`
        : undefined,
  });
}
