import { join } from 'node:path';
import { listOwnedDatabases } from '../src/admin/databases';
import { databaseUrl } from '../src/shared/naming';
import { dropOwnedWithBase, expectPassed, rows, runFixture, serverUrl, uniqueBase, withAdmin } from './helpers';

const CONFIG = join(__dirname, 'fixtures/features/jest.config.js');

/** Runs one feature of the fixture project against the test server, then drops what it left. */
async function feature(
  name: string,
  env: Record<string, string> = {},
  /** Raw probes of what the run left, before it is dropped. */
  probe?: (leftovers: string[]) => Promise<void>,
) {
  const baseName = uniqueBase(name.replace(/-/g, '').slice(0, 8));
  try {
    const run = runFixture(
      { FEATURE: name, PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName, ...env },
      CONFIG,
    );
    const left = await withAdmin((admin) => listOwnedDatabases(admin));
    // Whatever the outcome, a run leaves nothing but its template (and what it was asked to keep).
    const leftovers = left
      .filter((db) => db.name.startsWith(`${baseName}_`) && db.marker.kind !== 'template')
      .map((db) => db.name);
    await probe?.(leftovers);
    return { ...run, leftovers };
  } finally {
    await dropOwnedWithBase(baseName);
  }
}

describe('when to reset', () => {
  it('resets a scenario file once, a "never" file only when it calls reset(), and other files before every test', async () => {
    const run = await feature('scenario');
    expectPassed(run, 7);
    expect(run.leftovers).toEqual([]);
  });

  it("lets PGWORK_RESET_BEFORE=test override the files, so the scenario fails as it would without pgwork's option", async () => {
    const run = await feature('scenario', { PGWORK_RESET_BEFORE: 'test' });
    expect(run.output).toMatch(/sees what the previous test created/);
    expect(run.output).toMatch(/Tests:\s+3 failed, 4 passed, 7 total/);
  });

  it('does the same per file and per test in transaction mode', async () => {
    const run = await feature('scenario', { PGWORK_RESET: 'transaction' });
    expectPassed(run, 7);
  });
});

describe('fake timers', () => {
  it("never hang pgwork's connect, reset and errors", async () => {
    const run = await feature('fake-timers');
    expectPassed(run, 3);
  });
});

describe('a setup file that overwrites the worker URL', () => {
  it('fails the file with one line naming the variable, its value and the fix', async () => {
    const run = await feature('overwrite');
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      'pgwork: worker 1: DATABASE_URL (now "postgres://app:***@localhost:5432/app_test") changed after pgwork set it for this worker',
    );
    expect(run.output).toMatch(/add the variable your app reads to pgwork's env option/);
    expect(run.output).not.toContain('secret');
  });

  it('only warns with checkEnv "warn"', async () => {
    const run = await feature('overwrite', { FIXTURE_CHECK_ENV: 'warn' });
    expect(run.output).toMatch(
      /pgwork: worker \d: DATABASE_URL \(now "postgres:\/\/app:\*\*\*@localhost:5432\/app_test"\) changed/,
    );
    // The tests then really do go elsewhere: nothing listens there.
    expect(run.output).toMatch(/ECONNREFUSED/);
  });
});

describe('seeded data a test changes (seed, reset "transaction", the seeded tables kept)', () => {
  it('is back as the template has it for every test', async () => {
    const run = await feature('seeded');
    expectPassed(run, 3);
    expect(run.leftovers).toEqual([]);
  });
});

describe('ON TRUNCATE triggers', () => {
  it.each([['empty'], ['transaction']])(
    'reset %s: fire before every test, as a TRUNCATE of every table would, whatever the test before wrote',
    async (reset) => {
      const run = await feature('truncate-audit', { PGWORK_RESET: reset });
      expectPassed(run, 5);
    },
  );
});

describe('PGWORK_KEEP=failed', () => {
  it.each([['empty'], ['transaction']])(
    'reset %s: keeps the database of the failing test as it was, names it, and the next test starts clean',
    async (reset) => {
      let kept: Array<{ label: string }> = [];
      let nextId = 0;
      const run = await feature('keep-failed', { PGWORK_KEEP: 'failed', PGWORK_RESET: reset }, async (leftovers) => {
        expect(leftovers).toEqual([expect.stringMatching(/_w1_f[a-z0-9]+$/)]);
        const url = databaseUrl(serverUrl(), leftovers[0]!);
        kept = await rows(url, 'SELECT label FROM items ORDER BY id');
        nextId = (await rows<{ id: number }>(url, `INSERT INTO items (label) VALUES ('next') RETURNING id`))[0]!.id;
      });
      expect(run.output).toMatch(/Tests:\s+1 failed, 2 passed, 3 total/);
      expect(run.output).toMatch(
        /pgwork: kept the database of failed test "a file with a failure fails after writing" as \w+_w1_f[a-z0-9]+: psql "postgres:\/\/.*\/\w+_w1_f[a-z0-9]+" \(pgwork clean drops it\)/,
      );
      // The rows the failing test saw, its own uncommitted ones included; the identity where it left off.
      expect(kept).toEqual([{ label: 'kept 1' }, { label: 'kept 2' }]);
      expect(nextId).toBe(3);
    },
  );
});

describe('workerEnv', () => {
  it('sets each worker its own value of other variables', async () => {
    const run = await feature('worker-env');
    expectPassed(run, 3);
  });
});

describe("the project's own globalSetup and globalTeardown", () => {
  it("run after pgwork's setup (TypeScript, through the project's transform) and before its teardown", async () => {
    const run = await feature('user-hooks');
    expectPassed(run, 1);
    expect(run.lines[0]).toBe('setup PGWORK_RUN=set rootDir=true');
    expect(run.lines[1]).toMatch(/^test \w+_[a-z0-9]{8}_w1$/);
    // Both workers' databases were cloned in the background; the user teardown still saw them.
    expect(run.lines[2]).toBe('teardown worker databases=2');
    expect(run.output).toMatch(/used 2 database\(s\), now dropped/);
    expect(run.leftovers).toEqual([]);
  });

  it('when the user setup fails, pgwork undoes its own part', async () => {
    const run = await feature('user-hooks', { FIXTURE_SETUP_FAILS: '1' });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/the user setup failed/);
    expect(run.lines).toEqual(['setup PGWORK_RUN=set rootDir=true']);
    expect(run.leftovers).toEqual([]);
  });
});

describe('Jest projects', () => {
  it('gives each project its own run, template and databases', async () => {
    const run = await feature('projects');
    expectPassed(run, 2);
    expect(run.output).toMatch(/pgwork: run [a-z0-9]{8} for project "alpha" on Postgres/);
    expect(run.output).toMatch(/pgwork: run [a-z0-9]{8} for project "beta" on Postgres/);
    const seen = run.lines.map((line) => line.split(' '));
    expect(seen.map(([, tables]) => tables).sort()).toEqual(['alpha_items', 'beta_items']);
    expect(new Set(seen.map(([database]) => database)).size).toBe(2);
    expect(run.output).toMatch(/pgwork: run [a-z0-9]{8} \(project "alpha"\) used \d database\(s\), now dropped/);
    expect(run.output).toMatch(/pgwork: run [a-z0-9]{8} \(project "beta"\) used \d database\(s\), now dropped/);
    expect(run.leftovers).toEqual([]);
  });
});
