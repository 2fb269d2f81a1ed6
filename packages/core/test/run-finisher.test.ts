import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finisherLogFile } from '../src/setup/run-finisher';
import { freeConsecutivePorts, rows, serversInChild, uniqueBase, waitUntil, workerDatabasesOf } from './helpers';

// A runner's process that exits without the run's teardown (Vitest's own
// "Worker exited unexpectedly" crash, a test's process.exit): the run's
// databases or schemas are finished by a detached finisher, not left to the
// next run. On a server of this file's own: another file's run start would
// reclaim them too (every dead run's), and this file must see the finisher's work.

const DIST = join(__dirname, '../dist');
const ADAPTER = join(__dirname, 'fixtures/sql-adapter.js');

let servers: { stop(): Promise<void> } | undefined;
const server = { url: '' };
beforeAll(async () => {
  const port = await freeConsecutivePorts(1);
  servers = await serversInChild('finisher', [port]);
  server.url = `postgres://postgres:finisher@127.0.0.1:${port}/postgres`;
});
afterAll(() => servers?.stop());

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
      env: { ...process.env, PGWORK_DATABASE_URL: server.url, PGWORK_KEEP: '', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const runId = /run (\w+)/.exec(child.stdout)?.[1];
    expect({ runId, stderr: runId ? '' : child.stderr }).toEqual({
      runId: expect.stringMatching(/^\w{8}$/),
      stderr: '',
    });
    return { ...child, runId: runId! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The finisher's line about the run, once it has written one (bounded wait). */
async function finisherLine(runId: string): Promise<string> {
  const file = finisherLogFile(runId);
  await waitUntil(() => existsSync(file) && readFileSync(file, 'utf8').includes('\n'));
  return readFileSync(file, 'utf8').trim();
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
    expect(await finisherLine(crashed.runId)).toMatch(new RegExp(`run ${crashed.runId}: 2 database\\(s\\) dropped$`));
    expect(await workerDatabasesOf(base, server.url)).toEqual([]);
  });

  it('ended by process.exit, in schema isolation: its schemas are dropped', async () => {
    const base = uniqueBase('exited');
    const exited = runRunner(options(base, { isolation: 'schema' }), 'process.exit(3);');
    expect(exited.status).toBe(3);
    expect(await finisherLine(exited.runId)).toMatch(/: 2 schema\(s\) dropped$/);
    const schemas = await rows(server.url, 'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${base}\\_%`]);
    expect(schemas).toEqual([]);
  });

  it('with PGWORK_KEEP=1: its databases are kept and marked kept, as its own end would', async () => {
    const base = uniqueBase('kept');
    const crashed = runRunner(options(base), "throw new Error('crash');", { PGWORK_KEEP: '1' });
    expect(await finisherLine(crashed.runId)).toMatch(/: 2 database\(s\) kept \(PGWORK_KEEP=1\)$/);
    const kept = await rows<{ datname: string; comment: string }>(
      server.url,
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
       WHERE datname LIKE $1 AND datname NOT LIKE '%\\_tpl\\_%' ORDER BY datname`,
      [`${base}\\_%`],
    );
    expect(kept.map(({ datname }) => datname)).toEqual([`${base}_${crashed.runId}_w1`, `${base}_${crashed.runId}_w2`]);
    for (const { comment } of kept) expect(comment).toMatch(/"kept":"\d{4}-/);
  });

  it('that finishes its run: starts no finisher', () => {
    const base = uniqueBase('done');
    const finished = runRunner(options(base), "await run.finish(); throw new Error('after the end');");
    expect(finished.stderr).toContain('after the end');
    // Bounded: a finisher would have written within this (the crash tests above see it within a second).
    spawnSync('sleep', ['3']);
    expect(existsSync(finisherLogFile(finished.runId))).toBe(false);
  });
});
