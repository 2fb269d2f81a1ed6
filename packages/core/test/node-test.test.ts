import { join } from 'node:path';
import { runRunnerFixture, workerDatabasesOf } from './helpers';

// node:test under `pgwork run -- node --test --import @pgwork/core/node-test`:
// Node 20 gives a file's process no worker number, so each leases one.

const FIXTURE = join(__dirname, 'fixtures/node-test');
const CLI = join(__dirname, '../dist/cli/main.js');
const REGISTER = join(__dirname, '../dist/node-test/register.mjs');

function nodeTest(files: string[], options: { workers: number; env?: Record<string, string> }) {
  const args = ['--test', `--test-concurrency=${options.workers}`, '--import', REGISTER, ...files];
  const run = runRunnerFixture(
    FIXTURE,
    [process.execPath, CLI, 'run', '--workers', String(options.workers), '--', process.execPath, ...args],
    options.env,
  );
  const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(run.output)?.[1] ?? Number.NaN);
  return { ...run, passed: count('pass'), failed: count('fail') };
}

const WRITERS = ['writes-1.test.mjs', 'writes-2.test.mjs', 'writes-3.test.mjs', 'writes-4.test.mjs'];

describe('node:test', () => {
  it('4 files at once on Node 20 (no worker id): 4 processes, 4 numbers, 4 databases, each reset before every test', async () => {
    const run = nodeTest(WRITERS, { workers: 4 });
    expect({ passed: run.passed, failed: run.failed }).toEqual({ passed: 8, failed: 0 });
    expect(run.status).toBe(0);
    expect(new Set(run.reports.map((report) => report.worker))).toEqual(new Set(['1', '2', '3', '4']));
    expect(new Set(run.reports.map((report) => report.database)).size).toBe(4);
    expect(run.output).toMatch(/now dropped/);
    expect(await workerDatabasesOf(run.baseName)).toEqual([]);
  });

  it('PGWORK_DISABLE=1: the same files share one database and see each other', () => {
    const run = nodeTest(WRITERS, { workers: 4, env: { PGWORK_DISABLE: '1', FIXTURE_PAUSE_MS: '1000' } });
    expect(run.failed).toBeGreaterThan(0);
    expect(run.status).not.toBe(0);
  });

  it("a SIGKILLed file process's number and database go to the next process, emptied; no number beyond the workers", () => {
    const run = nodeTest(['killed.test.mjs', ...WRITERS], { workers: 2 });
    const killed = run.reports.find((report) => report.file === 'killed');
    expect(killed).toBeDefined();
    const numbers = new Set(run.reports.map((report) => report.worker));
    expect([...numbers].sort()).toEqual(['1', '2']);
    // A writer took the dead process's number and its database, and found it empty (each writer asserts it).
    expect(run.reports.filter((report) => report.file !== 'killed').map((report) => report.database)).toContain(
      killed!.database,
    );
    expect(run.passed).toBe(8);
    expect(run.output).toMatch(/now dropped/);
  });

  it('without pgwork run: each file fails saying how to start it', () => {
    const run = runRunnerFixture(FIXTURE, [process.execPath, '--test', '--import', REGISTER, 'writes-1.test.mjs'], {
      PGWORK_RUN: '',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      "PGWORK_RUN is not set: node:test has no global setup to start pgwork's run; start the tests under pgwork run (pgwork run -- node --test --import @pgwork/core/node-test).",
    );
  });
});
