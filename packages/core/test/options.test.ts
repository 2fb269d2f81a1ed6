import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectBaseName, resolveOptions } from '../src/setup/options';
import { adapter } from './unit-helpers';

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
