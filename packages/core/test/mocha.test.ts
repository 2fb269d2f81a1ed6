import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverUrl, uniqueBase, workerDatabasesOf } from './helpers';

// Mocha with `require: ['@pgwork/core/mocha']` (the fixture's .mocharc.cjs) and pgwork.config.cjs:
// serial (the main process is worker 1) and --parallel (each worker leases a number).

const FIXTURE = join(__dirname, 'fixtures/mocha');
const MOCHA = join(require.resolve('mocha/package.json'), '../bin/mocha.js');

function mocha(args: string[], env: Record<string, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-mocha-'));
  const report = join(work, 'report');
  const baseName = uniqueBase('mo');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PGWORK_DATABASE_URL: serverUrl(),
    FIXTURE_BASE_NAME: baseName,
    FIXTURE_REPORT: report,
    ...env,
  };
  for (const name of ['DATABASE_URL', 'PGWORK_RUN', 'JEST_WORKER_ID', 'PGWORK_WORKER_ID']) delete childEnv[name];
  try {
    const run = spawnSync(process.execPath, [MOCHA, ...args], {
      cwd: FIXTURE,
      env: childEnv,
      encoding: 'utf8',
      timeout: 180_000,
    });
    const databases = existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n') : [];
    const output = `${run.stdout}${run.stderr}`;
    const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(output)?.[1] ?? 0);
    return { status: run.status, output, databases, passing: count('passing'), failing: count('failing'), baseName };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describe('Mocha', () => {
  it('--parallel: each worker process leases its own number and database; every test starts empty', async () => {
    const run = mocha(['--parallel', '--jobs', '2']);
    expect({ passing: run.passing, failing: run.failing }).toEqual({ passing: 8, failing: 0 });
    expect(run.status).toBe(0);
    expect(new Set(run.databases).size).toBe(2);
    expect(run.output).toMatch(/now dropped/);
    expect(await workerDatabasesOf(run.baseName)).toEqual([]);
  });

  it('--parallel --jobs 4 (more jobs than cores) with a schema per worker: the run prepares one for each job', () => {
    const run = mocha(['--parallel', '--jobs', '4'], { PGWORK_ISOLATION: 'schema' });
    const ended = run.status === 0 ? {} : { output: run.output.slice(-2000) };
    expect({ passing: run.passing, failing: run.failing, ...ended }).toEqual({ passing: 8, failing: 0 });
    expect(run.output).toMatch(/schema per worker: 4 in database/);
  });

  it('serial: the main process runs every file as worker 1, reset before each test', async () => {
    const run = mocha([]);
    expect({ passing: run.passing, failing: run.failing }).toEqual({ passing: 8, failing: 0 });
    expect(new Set(run.databases)).toEqual(new Set([run.databases[0]]));
    expect(run.databases[0]).toMatch(/_w1$/);
    expect(await workerDatabasesOf(run.baseName)).toEqual([]);
  });

  it('PGWORK_DISABLE=1 --parallel: the workers share one database and see each other', () => {
    const run = mocha(['--parallel', '--jobs', '2'], { PGWORK_DISABLE: '1', FIXTURE_PAUSE_MS: '1000' });
    expect(run.failing).toBeGreaterThan(0);
    expect(run.status).not.toBe(0);
  });
});
