import type { DatabaseRunState, RunState, WorkerSettings } from '../src/shared/run-state';
import { applyWorkerEnvironment, overwrittenVariables, workerTarget } from '../src/worker/env';
import { keepTablesIn } from '../src/worker/session';

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
