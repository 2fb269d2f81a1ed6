import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { ConfigAnswer } from './config-child';
import {
  PgworkError,
  adapterHelper,
  applyScripts,
  childFile,
  hashDirectory,
  hashParts,
  installedPackage,
  listFiles,
  requireDirectory,
  runChild,
  type Adapter,
  type AdapterContext,
  type Ledger,
} from '@pgwork/core/adapter';

export interface PrismaOptions {
  /** prisma.config.ts to read paths from. Default: the one Prisma finds in the project root. */
  config?: string;
  /** Schema file or folder; overrides the config. Default "prisma/schema.prisma". */
  schema?: string;
  /** Migrations folder; overrides the config. Default: the config's, else "migrations" beside the schema. */
  migrations?: string;
}

const VERSION: string = require('../package.json').version;
export const MIGRATIONS_TABLE = '_prisma_migrations';

/** For the runner config: `withPgwork(config, { adapter: prisma() })`. */
export const prisma = adapterHelper<PrismaOptions>(__filename, 'prisma', ['config', 'schema', 'migrations'], {
  mode: 'pgwork applies the migrations itself, writing the rows `prisma migrate deploy` writes; remove it',
});

/**
 * The migrations folder: from the options, else from prisma.config.ts (Prisma 6.6+ and 7,
 * read with Prisma's own loader in a child process, so TypeScript configs and env() work),
 * else beside the schema as Prisma finds it: the options, the config, package.json's
 * "prisma.schema" (Prisma 5 and 6), prisma/schema.prisma, schema.prisma.
 */
async function migrationsFolder(options: PrismaOptions, rootDir: string): Promise<string> {
  if (options.migrations) return resolve(rootDir, options.migrations);
  const configFile = resolve(rootDir, options.config ?? 'prisma.config.ts');
  const prismaDir = installedPackage('prisma', rootDir)?.dir;
  let found: ConfigAnswer = {};
  if (prismaDir && (options.config || existsSync(configFile))) {
    const fix = 'fix it or pass prisma({ schema, migrations })';
    const failure = (error: Error) =>
      new PgworkError('INVALID_OPTION', `cannot read the Prisma config ${configFile}: ${error.message}; ${fix}.`);
    const request = { prismaDir, rootDir, configFile };
    found = await runChild<ConfigAnswer>(childFile(__dirname, 'config-child'), request, { cwd: rootDir, failure });
  }
  const manifest = join(rootDir, 'package.json');
  const fromManifest: unknown = existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).prisma?.schema;
  const named = options.schema ?? found.schema ?? (typeof fromManifest === 'string' ? fromManifest : undefined);
  const candidates = ['prisma/schema.prisma', 'schema.prisma'].map((path) => join(rootDir, path));
  const schema = named ? resolve(rootDir, named) : (candidates.find(existsSync) ?? candidates[0]!);
  if (!existsSync(schema)) {
    const fix = 'fix prisma({ schema }) or the schema path in prisma.config.ts';
    throw new PgworkError('INVALID_OPTION', `the Prisma schema ${schema} does not exist; ${fix}.`);
  }
  return found.migrations ?? join(statSync(schema).isDirectory() ? schema : dirname(schema), 'migrations');
}

/** Migration folders in the order `prisma migrate deploy` applies them. */
export function migrationDirectories(migrations: string): string[] {
  requireDirectory(migrations, 'prisma({ migrations })');
  const lock = join(migrations, 'migration_lock.toml');
  const provider = existsSync(lock) && /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lock, 'utf8'))?.[1];
  if (provider && provider !== 'postgresql') {
    throw new PgworkError('INVALID_OPTION', `${lock} says provider "${provider}"; pgwork needs "postgresql".`);
  }
  const dirs = listFiles(migrations, (p) => /^[^/]+\/migration\.sql$/.test(p)).map((p) => p.split('/')[0]!);
  if (dirs.length === 0) {
    const fix = 'create one with `prisma migrate dev`, or point prisma({ migrations }) at your folder';
    throw new PgworkError('INVALID_OPTION', `no migrations in ${migrations}; ${fix}.`);
  }
  return dirs.sort();
}

export function createAdapter(options: PrismaOptions = {}, context: AdapterContext): Adapter {
  let migrations: Promise<string> | undefined;
  const folder = () => (migrations ??= migrationsFolder(options, context.rootDir));
  return {
    name: 'prisma',
    async describe() {
      const dir = await folder();
      migrationDirectories(dir);
      const prismaVersion = installedPackage('prisma', context.rootDir)?.version ?? '-';
      return {
        // Only the migrations shape the database: a schema.prisma edit without a migration changes nothing there.
        fingerprint: hashParts(['prisma', VERSION, prismaVersion, hashDirectory(dir)]),
        // Migrations name no schema: under schema isolation the URL's search_path puts them in the worker's.
        bookkeepingTables: [`public.${MIGRATIONS_TABLE}`],
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate({ client }) {
      const dir = await folder();
      const scripts = migrationDirectories(dir).map((name) => ({ name, path: join(dir, name, 'migration.sql') }));
      await applyScripts(client, scripts, PRISMA_LEDGER);
    },
  };
}

/**
 * What `prisma migrate deploy` does on Postgres, without its engine: create
 * _prisma_migrations, and per migration record the start, run migration.sql as
 * one simple-protocol script (one implicit transaction, as Prisma runs it), then
 * record finished_at and applied_steps_count = 1. The checksum is the SHA-256
 * of migration.sql, so `prisma migrate status` agrees.
 */
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
