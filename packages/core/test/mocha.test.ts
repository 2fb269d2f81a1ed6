import { join } from 'node:path';
import { runRunnerFixture, workerDatabasesOf } from './helpers';

// Mocha with `require: ['@pgwork/core/mocha']` (the fixture's .mocharc.cjs) and pgwork.config.cjs:
// serial (the main process is worker 1) and --parallel (each worker leases a number).

const FIXTURE = join(__dirname, 'fixtures/mocha');
const MOCHA = join(require.resolve('mocha/package.json'), '../bin/mocha.js');

function mocha(args: string[], env: Record<string, string> = {}) {
  const run = runRunnerFixture(FIXTURE, [process.execPath, MOCHA, ...args], env);
  const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(run.output)?.[1] ?? 0);
  const databases = run.reports.map((report) => report.database);
  return { ...run, databases, passing: count('passing'), failing: count('failing') };
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
