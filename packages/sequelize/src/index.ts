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
  // What umzug's glob (*.{js,cjs,ts}) picks up.
  const pattern = ['*.js', '*.cjs', '*.ts'];
  const migrations =
    strategy === 'sync' ? [] : globFiles(requireDirectory(folder, 'sequelize({ migrations })'), pattern);
  // TypeScript anywhere (the module or a migration) needs the project's loader in the child.
  const typescript = [module, ...migrations].find((file) => file.endsWith('.ts'));
  const loads = { module: typescript ?? module, option: 'sequelize({ sequelize })' };
  const run = <T>(action: ChildRequest['action'], target?: { url: string; database: string; schema?: string }) => {
    const request: ChildRequest = { action, module, exportName: options.export, folder, rootDir, ...target };
    const loading = `cannot load the Sequelize instance from ${options.sequelize}: `;
    const failure = (error: Error) =>
      action === 'inspect'
        ? new PgworkError('INVALID_OPTION', `${loading}${error.message}.`)
        : new PgworkError('MIGRATION_FAILED', error.message);
    const env = target ? { DATABASE_URL: target.url } : {};
    return runChild<T>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, env, failure });
  };
  let inspection: Promise<Inspection> | undefined;
  return {
    name: 'sequelize',
    async describe() {
      const { files, schema, pinned } = await (inspection ??= run<Inspection>('inspect'));
      const versions = ['sequelize', 'umzug'].map((name) => installedPackage(name, rootDir)?.version ?? '-');
      const sources = hashFiles(rootDir, [...files, ...migrations]);
      return {
        fingerprint: hashParts(['sequelize', VERSION, ...versions, strategy, sources]),
        bookkeepingTables: strategy === 'migrations' ? [`${schema ?? 'public'}.SequelizeMeta`] : [],
        isolation: pinned.length ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: { schema: `Sequelize writes schema ${pinned.join(', ')} (the schema option) into table names` },
      };
    },
    async migrate({ url, database, schema }) {
      await run<null>(strategy, { url, database, schema });
    },
  };
}
