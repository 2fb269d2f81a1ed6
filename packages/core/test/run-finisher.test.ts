import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rows, serverUrl, uniqueBase, workerDatabasesOf } from './helpers';

// A runner's process that exits without the run's teardown (Vitest's own
// "Worker exited unexpectedly" crash, a test's process.exit): the run's
// databases or schemas are finished by a detached finisher, not left to the next run.

const DIST = join(__dirname, '../dist');
const ADAPTER = join(__dirname, 'fixtures/sql-adapter.js');

/**
 * A runner's process as a script: starts a run with `options`, opens workers
 * 1 and 2 (their databases or schemas made), prints the run id, then `ends`.
 */
function runnerScript(options: object, ends: string): string {
  return `
    const { startRunnerRun } = require(${JSON.stringify(join(DIST, 'setup/runner-run.js'))});
    const { openWorkerSession } = require(${JSON.stringify(join(DIST, 'worker/session.js'))});
    startRunnerRun({ options: ${JSON.stringify(options)}, rootDir: process.cwd(), maxWorkers: 2, write: () => {} })
      .then(async (run) => {
        for (const worker of [1, 2]) await (await openWorkerSession(run.state, worker)).close();
        console.log('run ' + run.state.runId);
        ${ends}
      });
  `;
}

function runRunner(options: object, ends: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pgwork-finisher-'));
  try {
    const child = spawnSync(process.execPath, ['-e', runnerScript(options, ends)], {
      cwd: dir,
      env: { ...process.env, PGWORK_DATABASE_URL: serverUrl(), PGWORK_KEEP: '', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const runId = /run (\w+)/.exec(child.stdout)?.[1];
    expect({ runId, stderr: child.stderr }).toEqual({ runId: expect.any(String), stderr: expect.any(String) });
    return { ...child, runId: runId! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits (bounded: 60 s) until `done` holds, and returns whether it did. */
async function eventually(done: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const options = (baseName: string, extra: object = {}) => ({
  adapter: {
    module: ADAPTER,
    options: { sql: 'CREATE TABLE fixture_migrations (name text); CREATE TABLE items (id int)' },
  },
  baseName,
  ...extra,
});

describe('a runner process that exits without its teardown', () => {
  it('crashing with an uncaught error: its worker databases are dropped once it is gone', async () => {
    const base = uniqueBase('crash');
    const crashed = runRunner(options(base), "throw new Error('Worker exited unexpectedly');");
    expect(crashed.status).toBe(1);
    expect(crashed.stderr).toContain('Worker exited unexpectedly');
    expect(await eventually(async () => (await workerDatabasesOf(base)).length === 0)).toBe(true);
  });

  it('ended by process.exit, in schema isolation: its schemas are dropped', async () => {
    const base = uniqueBase('exited');
    const exited = runRunner(options(base, { isolation: 'schema' }), 'process.exit(3);');
    expect(exited.status).toBe(3);
    const schemas = () =>
      rows<{ name: string }>(serverUrl(), 'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1', [
        `${base}\\_%`,
      ]);
    expect(await eventually(async () => (await schemas()).length === 0)).toBe(true);
  });

  it('with PGWORK_KEEP=1: its databases are kept and marked kept, as its own end would', async () => {
    const base = uniqueBase('kept');
    const crashed = runRunner(options(base), "throw new Error('crash');", { PGWORK_KEEP: '1' });
    const keptMarkers = () =>
      rows<{ comment: string }>(
        serverUrl(),
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE $1 AND datname NOT LIKE '%\\_tpl\\_%'`,
        [`${base}\\_%`],
      );
    try {
      expect(await eventually(async () => (await keptMarkers()).every(({ comment }) => /"kept"/.test(comment)))).toBe(
        true,
      );
      expect(await workerDatabasesOf(base)).toEqual([`${base}_${crashed.runId}_w1`, `${base}_${crashed.runId}_w2`]);
    } finally {
      // What it kept: dropped the way a user would.
      spawnSync(
        process.execPath,
        [join(DIST, 'cli/main.js'), 'clean', '--yes', '--base-name', base, '--url', serverUrl()],
        {
          cwd: tmpdir(),
          encoding: 'utf8',
        },
      );
    }
    expect(await workerDatabasesOf(base)).toEqual([]);
  });
});
