import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  PgworkError,
  adapterHelper,
  childFile,
  hashFiles,
  hashParts,
  installedPackage,
  listFiles,
  requireDirectory,
  requireFile,
  runChild,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';
import type { ChildRequest, Inspection } from './child';

export interface KnexOptions {
  /** Your knexfile, relative to the project root. Default: the first of knexfile.ts, knexfile.js, knexfile.cjs. */
  knexfile?: string;
  /** The section of an environment-keyed knexfile. Default: NODE_ENV's when present, else "test", else "development". */
  environment?: string;
  /** Also run `knex.seed.run()` into the template. Default false. */
  seeds?: boolean;
}

const VERSION: string = require('../package.json').version;
const KNEXFILES = ['knexfile.ts', 'knexfile.js', 'knexfile.cjs'];
const OPTION_TYPES = { knexfile: 'string', environment: 'string', seeds: 'boolean' } as const;

/** For the runner config: `withPgwork(config, { adapter: knex() })`. */
export const knex = adapterHelper<KnexOptions>(__filename, 'knex', ['knexfile', 'environment', 'seeds']);

export function createAdapter(options: KnexOptions = {}, { rootDir }: AdapterContext): Adapter {
  for (const [key, type] of Object.entries(OPTION_TYPES)) {
    const value = options[key as keyof KnexOptions];
    if (value !== undefined && typeof value !== type)
      throw new PgworkError('INVALID_OPTION', `knex({ ${key}: ${JSON.stringify(value)} }) needs a ${type}.`);
  }
  // The one named, else the first default in the root (when none is there, the first, for requireFile's error).
  const name = options.knexfile ?? KNEXFILES.find((file) => existsSync(resolve(rootDir, file))) ?? KNEXFILES[0]!;
  const knexfile = resolve(rootDir, name);
  // The child's cwd is the knexfile's folder: Knex's CLI resolves the config's relative paths (and knex) from there.
  const inChild = <T>(action: ChildRequest['action'], module: string, url?: string) =>
    runChild<T>(childFile(__dirname, 'child'), { ...options, action, knexfile } satisfies ChildRequest, {
      cwd: dirname(knexfile),
      loads: { module, option: 'knex({ knexfile })', searchFrom: [rootDir] },
      env: url ? { DATABASE_URL: url } : {},
      failure: (error) =>
        action === 'migrate'
          ? new PgworkError('MIGRATION_FAILED', error.message)
          : new PgworkError('INVALID_OPTION', `cannot load the knexfile ${name}: ${error.message}.`),
    });
  let project: Promise<{ info: Inspection; files: string[] }> | undefined;
  const load = () =>
    (project ??= (async () => {
      const info = await inChild<Inspection>('inspect', requireFile(knexfile, 'knex({ knexfile })'));
      const folder = (key: string) => (dir: string) => requireDirectory(dir, `${name} ${key}.directory`);
      const dirs = [...info.migrationDirs.map(folder('migrations')), ...info.seedDirs.map(folder('seeds'))];
      return { info, files: [knexfile, ...dirs.flatMap((dir) => listFiles(dir).map((file) => resolve(dir, file)))] };
    })());
  return {
    name: 'knex',
    async describe() {
      const { info, files } = await load();
      const { tableName, schemaName, searchPath } = info.shape;
      const schema = schemaName ?? [searchPath ?? []].flat()[0] ?? 'public';
      const knexVersion = installedPackage('knex', dirname(knexfile))?.version ?? '-';
      // A schema the knexfile pins is one Knex writes into (schemaName) or sets on every connection (searchPath).
      const pinned = schemaName ? `migrations.schemaName "${schemaName}"` : searchPath && `searchPath "${searchPath}"`;
      return {
        fingerprint: hashParts(['knex', VERSION, knexVersion, JSON.stringify(info.shape), hashFiles(rootDir, files)]),
        bookkeepingTables: [`${schema}.${tableName}`, `${schema}.${tableName}_lock`],
        isolation: pinned ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: pinned ? { schema: `the knexfile sets ${pinned}, which Knex uses over the worker's schema` } : {},
      };
    },
    async migrate(target) {
      const { files } = await load();
      // A JavaScript knexfile may still list TypeScript migrations (or seeds): preload the project's loader for them.
      const module = files.find((file) => /\.[cm]?ts$/.test(file)) ?? knexfile;
      // DATABASE_URL as the app reaches the database: a seed may import the app's own db module.
      await inChild<null>('migrate', module, target.appUrl ?? target.url);
    },
  };
}
