import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeDatabase, listOwnedDatabases } from '../src/admin/databases';
import { databaseUrl } from '../src/shared/naming';
import { embeddedBinaries } from '../src/setup/embedded-binaries';
import {
  dropOwnedWithBase,
  expectPassed,
  freeConsecutivePorts,
  rows,
  runFixture,
  serverUrl,
  serversInChild,
  uniqueBase,
  withAdmin,
} from './helpers';

describe('the Jest lifecycle, end to end', () => {
  it('gives each worker its own database, reuses the template across runs, and leaves nothing behind', async () => {
    const baseName = uniqueBase('life');
    const countFile = join(mkdtempSync(join(tmpdir(), 'pgwork-count-')), 'count');
    writeFileSync(countFile, '');
    const report = join(dirname(countFile), 'report.json');
    const env = {
      PGWORK_DATABASE_URL: serverUrl(),
      FIXTURE_BASE_NAME: baseName,
      FIXTURE_COUNT_FILE: countFile,
      PGWORK_REPORT: report,
    };
    try {
      const first = runFixture(env);
      expectPassed(first, 8);
      expect(first.output).toMatch(
        /pgwork: run [a-z0-9]{8} on Postgres at 127\.0\.0\.1:\d+ from PGWORK_DATABASE_URL, version \d+.*built in \d+ ms \(fixture-sql\)/,
      );
      const workers = new Set(first.databases);
      expect(workers.size).toBe(2);
      for (const name of workers) expect(name).toMatch(new RegExp(`^${baseName}_[a-z0-9]{8}_w[12]$`));
      for (const name of workers) expect(await withAdmin((admin) => describeDatabase(admin, name))).toBeUndefined();
      expect(first.output).toMatch(/pgwork: run [a-z0-9]{8} used 2 database\(s\), now dropped/);
      const summary = JSON.parse(readFileSync(report, 'utf8'));
      expect(summary).toMatchObject({ template: { built: true }, embedded: false, dropped: true, shared: null });
      expect([...summary.databases].sort()).toEqual([...workers].sort());

      const second = runFixture(env);
      expect(second.status).toBe(0);
      expect(second.output).toMatch(/template .* reused \(fixture-sql\)/);
      expect(readFileSync(countFile, 'utf8')).toBe('m');
      const left = await withAdmin((admin) => listOwnedDatabases(admin));
      expect(left.filter((db) => db.name.startsWith(`${baseName}_`)).map((db) => db.marker.kind)).toEqual(['template']);
    } finally {
      rmSync(dirname(countFile), { recursive: true, force: true });
      await dropOwnedWithBase(baseName);
    }
  });

  it('routes every worker to one shared database with PGWORK_DISABLE=1', async () => {
    const baseName = uniqueBase('off');
    try {
      const run = runFixture({ PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName, PGWORK_DISABLE: '1' });
      expect(run.output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
      expect(new Set(run.databases).size).toBe(1);
      expect(run.databases[0]).toMatch(/_shared$/);
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('runs each test in a transaction rolled back after it with PGWORK_RESET=transaction', async () => {
    const baseName = uniqueBase('tx');
    try {
      const run = runFixture({
        PGWORK_DATABASE_URL: serverUrl(),
        FIXTURE_BASE_NAME: baseName,
        PGWORK_RESET: 'transaction',
      });
      expectPassed(run, 8);
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('gives each worker its own schema in the URL\'s database with isolation "schema", without CREATE DATABASE', async () => {
    const baseName = uniqueBase('schema');
    const dev = `${baseName}_dev`;
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${dev}`));
    const devUrl = databaseUrl(serverUrl(), dev);
    // The user's own table in public, and a decoy schema named like a worker schema, both untouched.
    await rows(
      devUrl,
      `CREATE TABLE precious (v int); INSERT INTO precious VALUES (42); CREATE SCHEMA ${baseName}_zzzzzzzz_w1; CREATE TABLE ${baseName}_zzzzzzzz_w1.items (id int); INSERT INTO ${baseName}_zzzzzzzz_w1.items VALUES (1);`,
    );
    try {
      const run = runFixture({ PGWORK_DATABASE_URL: devUrl, FIXTURE_BASE_NAME: baseName, PGWORK_ISOLATION: 'schema' });
      expectPassed(run, 8);
      expect(new Set(run.databases)).toEqual(new Set([dev]));
      expect(new Set(run.schemas).size).toBe(2);
      for (const schema of run.schemas) expect(schema).toMatch(new RegExp(`^${baseName}_[a-z0-9]{8}_w[12]$`));
      expect(run.output).toMatch(/used 2 schema\(s\), now dropped/);
      const left = await rows<{ nspname: string }>(
        devUrl,
        `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1`,
        [`${baseName}%`],
      );
      expect(left.map((row) => row.nspname)).toEqual([`${baseName}_zzzzzzzz_w1`]);
      expect(await rows(devUrl, `SELECT v FROM precious`)).toEqual([{ v: 42 }]);
      expect(await rows(devUrl, `SELECT id FROM ${baseName}_zzzzzzzz_w1.items`)).toEqual([{ id: 1 }]);
    } finally {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${dev} WITH (FORCE)`));
    }
  });

  it('gives each worker its own kept embedded server with isolation "server"', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'pgwork-servers-'));
    chmodSync(temp, 0o755);
    try {
      const run = runFixture({
        PGWORK_EMBEDDED_DIR: temp,
        PGWORK_EMBEDDED_IDLE_SECONDS: '0',
        FIXTURE_BASE_NAME: uniqueBase('srv'),
        FIXTURE_ISOLATION: 'server',
      });
      expectPassed(run, 8);
      expect(run.output.match(/pgwork: run [a-z0-9]{8} on embedded Postgres/g)).toHaveLength(2);
      const clusters = [...new Set(run.servers)].sort();
      expect(clusters).toEqual(
        [1, 2].map((n) => join(temp, `pg${PG_MAJOR}-${process.platform}-${process.arch}`, `worker-${n}`, 'data')),
      );
      await serversStopped(clusters);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('routes worker N to the base port + N with isolation "server" and a URL', async () => {
    const base = await freeConsecutivePorts(3);
    const servers = await serversInChild('same-everywhere', [base + 1, base + 2]);
    try {
      const url = `postgres://postgres:same-everywhere@127.0.0.1:${base}/postgres`;
      const run = runFixture({
        PGWORK_DATABASE_URL: url,
        FIXTURE_BASE_NAME: uniqueBase('ports'),
        FIXTURE_ISOLATION: 'server',
      });
      expectPassed(run, 8);
      expect([...new Set(run.ports)].sort()).toEqual([base + 1, base + 2]);
    } finally {
      await servers.stop();
    }
  });

  it('fails the run with one line naming the adapter and the Postgres error when migration fails', async () => {
    const baseName = uniqueBase('fail');
    const run = runFixture({
      PGWORK_DATABASE_URL: serverUrl(),
      FIXTURE_BASE_NAME: baseName,
      FIXTURE_SQL: 'CREATE TABLE items (id int REFERENCES missing(id))',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      /pgwork: adapter fixture-sql could not migrate the template \w+: relation "missing" does not exist \(SQLSTATE 42P01\)/,
    );
    expect(run.output).not.toMatch(/at .*template\.js/);
    expect(run.databases).toEqual([]);
    const left = await withAdmin((admin) =>
      admin.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${baseName}%`]),
    );
    expect(left.rows).toEqual([]);
  });

  it('starts the embedded server when no server is configured, and keeps cluster and template for the next run', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'pgwork-embedded-'));
    chmodSync(temp, 0o755); // as root, the server runs as another user that must reach it
    const cluster = join(temp, `pg${PG_MAJOR}-${process.platform}-${process.arch}`, 'main');
    const env = { PGWORK_EMBEDDED_DIR: temp, PGWORK_EMBEDDED_IDLE_SECONDS: '0', FIXTURE_BASE_NAME: uniqueBase('emb') };
    try {
      const first = runFixture(env);
      expect(first.output).toContain(`on embedded Postgres (in ${cluster})`);
      expect(first.output).toMatch(/template \S+ built in/);
      expectPassed(first, 8);
      expect(new Set(first.databases).size).toBe(2);
      expect(first.output).toMatch(/used 2 database\(s\), now dropped/);
      // The app over loopback TCP on the cluster's port; pgwork's socket in a directory only the server's user can enter.
      expect(new Set(first.servers)).toEqual(new Set([join(cluster, 'data')]));
      expect(new Set(first.ports)).toEqual(new Set([Number(readFileSync(join(cluster, 'port'), 'utf8'))]));
      expect(statSync(join(cluster, 'socket')).mode & 0o777).toBe(0o700);
      // Idle time 0: the server stops when the run ends; the cluster and its template stay.
      await serversStopped([join(cluster, 'data')]);
      const second = runFixture(env);
      expectPassed(second, 8);
      expect(second.output).toMatch(/template \S+ reused/);
      await serversStopped([join(cluster, 'data')]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});

const PG_MAJOR = embeddedBinaries().major;

/** Waits until the servers of these data directories have stopped (their postmaster.pid is gone). */
async function serversStopped(dataDirectories: string[]): Promise<void> {
  for (let waited = 0; dataDirectories.some((dir) => existsSync(join(dir, 'postmaster.pid'))); waited += 100) {
    if (waited > 20_000) throw new Error(`still running after 20 s: ${dataDirectories.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
