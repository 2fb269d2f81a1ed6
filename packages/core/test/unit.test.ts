import { PgworkError, maskUrl } from '../src/errors';
import { adapterHelper } from '../src/adapter';
import { formatMarker, parseMarker } from '../src/databases';
import { hashParts } from '../src/fingerprint';
import { withPgwork, entryPoints } from '../src/jest/config';
import { databaseUrl, databaseOfUrl, templateDatabaseName, validateBaseName, workerDatabaseName, newRunId, assertDatabaseName } from '../src/naming';
import { resolveOptions } from '../src/options';
import { applyWorkerEnvironment, workerDatabase } from '../src/worker-session';
import { resolveWorkerId } from '../src/worker';
import type { RunState } from '../src/run';

const adapter = adapterHelper<{ dir: string }>('/abs/adapter.js')({ dir: 'migrations' });

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

  it.each(['0', '-1', '1.5', 'abc', '1"; DROP DATABASE x; --', '01', '9999999', ' 2'])('rejects %j', (value) => {
    expect(code(() => resolveWorkerId({ JEST_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
    expect(code(() => resolveWorkerId({ PGWORK_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
  });

  it('names the variable and the fix in the error', () => {
    expect(() => resolveWorkerId({ PGWORK_WORKER_ID: 'x' })).toThrow(/PGWORK_WORKER_ID="x" is not a worker number; set it to a positive integer/);
  });
});

describe('naming', () => {
  const run = newRunId();

  it('builds worker and template names from the base name', () => {
    expect(workerDatabaseName('app_test', run, 4)).toBe(`app_test_${run}_w4`);
    expect(templateDatabaseName('app_test', 'ab'.repeat(32))).toBe(`app_test_tpl_${'ab'.repeat(8)}`);
  });

  it('makes run ids that differ', () => {
    expect(new Set(Array.from({ length: 50 }, newRunId)).size).toBe(50);
    expect(run).toMatch(/^[a-z0-9]{8}$/);
  });

  it.each(['', 'App', '1abc', 'a-b', 'a"b', 'x'.repeat(41), '1"; DROP DATABASE x; --', 'ünï'])('rejects base name %j', (name) => {
    expect(code(() => validateBaseName(name))).toBe('INVALID_NAME');
  });

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
});

describe('options', () => {
  it('applies documented defaults and freezes the result', () => {
    const options = resolveOptions({ adapter }, {});
    expect(options).toMatchObject({ baseName: 'pgwork', env: ['DATABASE_URL'], maintenanceDatabase: 'postgres', disable: false, keep: false, rebuild: false });
    expect(options.server).toEqual({ url: undefined, source: 'the embedded server' });
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('picks PGWORK_DATABASE_URL, then the option, then DATABASE_URL', () => {
    const env = { PGWORK_DATABASE_URL: 'postgres://a@h/x', DATABASE_URL: 'postgres://c@h/x' };
    expect(resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, env).server.source).toBe('PGWORK_DATABASE_URL');
    expect(resolveOptions({ adapter, databaseUrl: 'postgres://b@h/x' }, { DATABASE_URL: env.DATABASE_URL }).server.url).toBe('postgres://b@h/x');
    expect(resolveOptions({ adapter }, { DATABASE_URL: env.DATABASE_URL }).server.source).toBe('DATABASE_URL');
    expect(resolveOptions({ adapter }, { PGWORK_DATABASE_URL: 'embedded', DATABASE_URL: env.DATABASE_URL }).server.url).toBeUndefined();
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
    [{ adapter }, { PGWORK_KEEP: 'yes' }, /PGWORK_KEEP="yes" is not understood; set it to 1 or 0/],
    [{ adapter, keepTables: 'countries' }, {}, /keepTables must be a list of table names/],
    [{ adapter, keepTables: ['a.b.c'] }, {}, /keepTables must be a list of table names/],
    [{ adapter, seed: '' }, {}, /seed must be the path of a \.sql file or a module/],
    [{ adapter, connectionsPerWorker: 2.5 }, {}, /connectionsPerWorker must be a whole number/],
  ])('rejects %j with env %j', (raw, env, message) => {
    expect(() => resolveOptions(raw, env as NodeJS.ProcessEnv)).toThrow(message);
  });
});

describe('worker environment', () => {
  const state: RunState = {
    version: 1,
    runId: 'abcd1234',
    serverUrl: 'postgres://u:p@127.0.0.1:5/postgres',
    source: 'test',
    maintenanceDatabase: 'postgres',
    baseName: 'app',
    template: 'app_tpl_0123456789abcdef',
    env: ['DATABASE_URL', 'READ_URL'],
    protectedDatabases: ['postgres'],
    bookkeepingTables: [],
    reset: 'empty',
    rootDir: '/',
  };

  it('points every configured variable at the worker database', () => {
    const env: NodeJS.ProcessEnv = { PGWORK_RUN: JSON.stringify(state), JEST_WORKER_ID: '2', DATABASE_URL: 'postgres://dev/app_dev' };
    const url = applyWorkerEnvironment(env);
    expect(url).toBe('postgres://u:p@127.0.0.1:5/app_abcd1234_w2');
    expect(env.DATABASE_URL).toBe(url);
    expect(env.READ_URL).toBe(url);
  });

  it('routes every worker to the shared database when isolation is off', () => {
    const shared = { ...state, shared: 'app_abcd1234_shared' };
    expect(workerDatabase(shared, 1).name).toBe('app_abcd1234_shared');
    expect(workerDatabase(shared, 3).name).toBe('app_abcd1234_shared');
  });

  it('refuses to become a protected database', () => {
    expect(() => workerDatabase({ ...state, protectedDatabases: ['app_abcd1234_w1'] }, 1)).toThrow(/is the configured database itself/);
  });

  it('fails clearly when globalSetup did not run', () => {
    expect(() => applyWorkerEnvironment({})).toThrow(/PGWORK_RUN is not set, so pgwork's globalSetup did not run/);
  });
});

describe('withPgwork', () => {
  it('adds the four entry points and keeps the user config', () => {
    const config = withPgwork({ maxWorkers: 4, setupFiles: ['./mine.js'], globals: { x: 1 } } as Record<string, unknown>, { adapter });
    expect(config).toMatchObject({
      maxWorkers: 4,
      globalSetup: entryPoints.globalSetup,
      globalTeardown: entryPoints.globalTeardown,
      setupFiles: [entryPoints.setupFiles, './mine.js'],
      setupFilesAfterEnv: [entryPoints.setupFilesAfterEnv],
      globals: { x: 1, pgwork: { adapter } },
    });
  });

  it('refuses to silently replace a globalSetup', () => {
    expect(() => withPgwork({ globalSetup: './mine.ts' }, { adapter })).toThrow(/already sets globalSetup; remove it from the config and call pgwork's from your own file/);
  });

  it('validates options at config time', () => {
    expect(() => withPgwork({}, { adapter, baseName: 'no-dashes' })).toThrow(/not a valid base name/);
  });
});

describe('globFiles', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { globFiles } = require('../src/fingerprint') as typeof import('../src/fingerprint');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgwork-glob-'));
    for (const file of ['schema/a.ts', 'schema/b.ts', 'schema/nested/c.ts', 'schema/readme.md', 'one.ts', 'x.y.ts', 'xzy.ts']) {
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
    expect(rel(globFiles(dir, ['./one.ts', 'schema/nested', 'missing.ts', 'missing/*.ts', 'one.ts']))).toEqual(['one.ts', 'schema/nested/c.ts']);
  });
});

describe('server isolation', () => {
  const { workerServer, readRunState } = require('../src/run-group') as typeof import('../src/run-group');

  it('gives worker N the base port + N, with the default port when the URL names none', () => {
    expect(workerServer({ url: 'postgres://u:p@db:6000/app?sslmode=disable', source: 'DATABASE_URL' }, 3)).toEqual({
      url: 'postgres://u:p@db:6003/app?sslmode=disable',
      source: 'DATABASE_URL (port + 3)',
    });
    expect(workerServer({ url: 'postgres://u@db/app', source: 'X' }, 1).url).toBe('postgres://u@db:5433/app');
    expect(workerServer({ url: undefined, source: 'the embedded server' }, 2)).toEqual({ url: undefined, source: 'the embedded server' });
    expect(() => workerServer({ url: 'postgres://u@db:65535/app', source: 'X' }, 1)).toThrow(/port 65536 is beyond 65535/);
  });

  it('lets each worker read its own run', () => {
    const state = (runId: string) => ({ version: 1, runId }) as unknown as RunState;
    const published = JSON.stringify({ version: 1, perWorker: { '1': state('aaaaaaaa'), '2': state('bbbbbbbb') } });
    expect(readRunState({ PGWORK_RUN: published, JEST_WORKER_ID: '2' }).runId).toBe('bbbbbbbb');
    expect(() => readRunState({ PGWORK_RUN: published, JEST_WORKER_ID: '3' })).toThrow(/worker 3 has no server: globalSetup started 2 for maxWorkers/);
    expect(() => readRunState({ PGWORK_RUN: JSON.stringify({ version: 2 }) })).toThrow(/written by another pgwork version/);
  });
});
