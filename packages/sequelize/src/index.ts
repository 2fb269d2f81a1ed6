import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  PgworkError,
  adapterChoice,
  adapterHelper,
  childFile,
  globFiles,
  hashFiles,
  hashParts,
  installedPackage,
  requireDirectory,
  requireFile,
  runChild,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';
import type { ChildRequest, Inspection } from './child';

export interface SequelizeOptions {
  /** Module exporting your Sequelize instance (built from DATABASE_URL, models defined on it), relative to the project root. */
  sequelize: string;
  /** Which export holds it. Default: `default`, `sequelize`, `db`, or the only Sequelize export. */
  export?: string;
  /** "migrations" (umzug over sequelize-cli style files) or "sync" (`sequelize.sync()`). Default: migrations when the folder exists. */
  migrate?: 'migrations' | 'sync';
  /** The migrations folder, relative to the project root. Default "migrations". */
  migrations?: string;
}

const VERSION: string = require('../package.json').version;
const OPTIONS = ['sequelize', 'export', 'migrate', 'migrations'] as const;

/** For the runner config: `withPgwork(config, { adapter: sequelize({ sequelize: 'src/db.ts' }) })`. */
export const sequelize = adapterHelper<SequelizeOptions>(__filename, 'sequelize', OPTIONS);

export function createAdapter(options: SequelizeOptions, { rootDir }: AdapterContext): Adapter {
  if (typeof options?.sequelize !== 'string') {
    const what = 'the path of the module that exports your Sequelize instance, e.g. "src/db.ts"';
    throw new PgworkError('INVALID_OPTION', `sequelize({ sequelize }) needs ${what}.`);
  }
  const module = requireFile(resolve(rootDir, options.sequelize), 'sequelize({ sequelize })');
  const folder = resolve(rootDir, options.migrations ?? 'migrations');
  // A folder the user named must exist (requireDirectory below): only the default one's absence means sync().
  const fallback = options.migrations !== undefined || existsSync(folder) ? 'migrations' : 'sync';
  const strategy = adapterChoice('sequelize', 'migrate', options.migrate ?? fallback, ['migrations', 'sync']);
  const versions = ['sequelize', 'umzug'].map((name) => installedPackage(name, rootDir)?.version ?? 'none');
  if (strategy === 'migrations' && !versions[1]!.startsWith('3.'))
    throw new PgworkError('INVALID_OPTION', `Sequelize migrations need umzug 3, found ${versions[1]}; install it.`);
  // The files umzug runs, in name order: *.js, *.cjs and *.ts (not declarations; TypeScript needs a loader).
  const dir = strategy === 'migrations' && requireDirectory(folder, 'sequelize({ migrations })');
  const migrations = dir ? globFiles(dir, ['*.js', '*.cjs', '*.ts']).filter((file) => !file.endsWith('.d.ts')) : [];
  const ts = migrations.find((file) => file.endsWith('.ts'));
  const loads = { module: ts ?? module, option: `sequelize({ ${ts ? 'migrations' : 'sequelize'} })` };
  const run = <T>(request: Pick<ChildRequest, 'action' | 'database' | 'schema'>, env?: { DATABASE_URL: string }) => {
    const loading = `cannot load the Sequelize instance from ${options.sequelize}: `;
    const failure = (error: Error) =>
      new PgworkError(env ? 'MIGRATION_FAILED' : 'INVALID_OPTION', env ? error.message : `${loading}${error.message}.`);
    const full: ChildRequest = { ...request, module, exportName: options.export, migrations, rootDir };
    return runChild<T>(childFile(__dirname, 'child'), full, { cwd: rootDir, loads, env, failure });
  };
  return {
    name: 'sequelize',
    async describe() {
      const { files, schema, pinned } = await run<Inspection>({ action: 'inspect' });
      const sources = hashFiles(rootDir, [...files, ...migrations]);
      return {
        fingerprint: hashParts(['sequelize', VERSION, ...versions, strategy, options.export ?? '', sources]),
        bookkeepingTables: strategy === 'migrations' ? [`${schema ?? 'public'}.SequelizeMeta`] : [],
        isolation: pinned.length ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: { schema: `Sequelize writes schema ${pinned.join(', ')} (the schema option) into table names` },
      };
    },
    async migrate({ url, appUrl, database, schema }) {
      // The module connects as the app does: with the URL the app's driver gets (the embedded server's TCP one).
      await run<null>({ action: strategy, database, schema }, { DATABASE_URL: appUrl ?? url });
    },
  };
}
