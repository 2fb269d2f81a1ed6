import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
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
  /** The section of an environment-keyed knexfile. Default: NODE_ENV's ("test" under Jest and Vitest) when present, else "development". */
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
    if (value !== undefined && typeof value !== type) {
      throw new PgworkError('INVALID_OPTION', `knex({ ${key}: ${JSON.stringify(value)} }) needs a ${type}.`);
    }
  }
  const { environment, seeds = false } = options;
  // The child's cwd is the knexfile's folder: Knex's CLI resolves the config's relative paths from there.
  const inChild = <T>(request: ChildRequest, module: string, failure: (error: Error) => Error, url?: string) =>
    runChild<T>(childFile(__dirname, 'child'), request, {
      cwd: dirname(request.knexfile),
      loads: { module, option: 'knex({ knexfile })', searchFrom: [rootDir] },
      env: url ? { DATABASE_URL: url } : {},
      failure,
    });
  let project: Promise<{ knexfile: string; info: Inspection; files: string[] }> | undefined;
  const load = () =>
    (project ??= (async () => {
      // The one named, else the first default that exists, as Knex's CLI looks; none names the first.
      const found = options.knexfile ?? KNEXFILES.find((file) => existsSync(resolve(rootDir, file))) ?? KNEXFILES[0]!;
      const knexfile = requireFile(resolve(rootDir, found), 'knex({ knexfile })');
      const name = relative(rootDir, knexfile);
      const failure = (error: Error) =>
        new PgworkError('INVALID_OPTION', `cannot load the knexfile ${name}: ${error.message}.`);
      const info = await inChild<Inspection>({ action: 'inspect', knexfile, rootDir, environment }, knexfile, failure);
      const option = "the knexfile's migrations.directory (or seeds.directory)";
      const dirs = [...info.migrationDirs, ...(seeds ? info.seedDirs : [])].map((dir) => requireDirectory(dir, option));
      return { knexfile, info, files: dirs.flatMap((dir) => listFiles(dir).map((file) => resolve(dir, file))) };
    })());
  return {
    name: 'knex',
    async describe() {
      const { knexfile, info, files } = await load();
      const { tableName = 'knex_migrations', schemaName, searchPath } = info.shape;
      const schema = schemaName ?? [searchPath ?? []].flat()[0] ?? 'public';
      const shape = JSON.stringify([info.shape, seeds && info.seedShape]); // seeds' files and shape count when they run
      const knexVersion = installedPackage('knex', rootDir)?.version ?? '-';
      // A schema the knexfile pins is one Knex writes into (schemaName) or sets on every connection (searchPath).
      const pinned = schemaName ? `migrations.schemaName "${schemaName}"` : searchPath && `searchPath "${searchPath}"`;
      return {
        fingerprint: hashParts(['knex', VERSION, knexVersion, shape, hashFiles(rootDir, [knexfile, ...files])]),
        bookkeepingTables: [`${schema}.${tableName}`, `${schema}.${tableName}_lock`],
        isolation: pinned ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: pinned ? { schema: `the knexfile sets ${pinned}, which Knex uses over the worker's schema` } : {},
      };
    },
    async migrate(target) {
      const { knexfile, files } = await load();
      const url = target.appUrl ?? target.url;
      const request: ChildRequest = { action: 'migrate', knexfile, rootDir, environment, seeds, url };
      // A JavaScript knexfile may still list TypeScript migrations: preload the project's loader for them.
      const module = [knexfile, ...files].find((file) => /\.[cm]?ts$/.test(file)) ?? knexfile;
      await inChild<null>(request, module, (error) => new PgworkError('MIGRATION_FAILED', error.message), url);
    },
  };
}
