import { join } from 'node:path';
import { runRunnerFixture, workerDatabasesOf } from './helpers';

// Bun under `pgwork run -- bun test [--parallel=N] --preload @pgwork/core/bun`:
// --parallel's worker processes get their number from Bun (JEST_WORKER_ID);
// a serial run's one process leases one.

const FIXTURE = join(__dirname, 'fixtures/bun');
const CLI = join(__dirname, '../dist/cli/main.js');
const PRELOAD = join(__dirname, '../dist/bun/preload.mjs');
const BUN = join(__dirname, '../node_modules/.bin/bun');

function bunTest(bunArgs: string[], options: { workers: number; env?: Record<string, string> }) {
  const run = runRunnerFixture(
    FIXTURE,
    [
      process.execPath,
      CLI,
      'run',
      '--workers',
      String(options.workers),
      '--',
      BUN,
      'test',
      '--preload',
      PRELOAD,
      ...bunArgs,
    ],
    options.env,
  );
  const count = (what: string) => Number(new RegExp(`^ *(\\d+) ${what}$`, 'm').exec(run.output)?.[1] ?? Number.NaN);
  return { ...run, passed: count('pass'), failed: count('fail') };
}

describe('bun test', () => {
  it('--parallel=4: 4 worker processes, 4 databases, each reset before every test', async () => {
    const run = bunTest(['--parallel=4'], { workers: 4 });
    expect({ passed: run.passed, failed: run.failed, status: run.status }).toEqual({ passed: 8, failed: 0, status: 0 });
    expect(run.reports.map((report) => report.file).sort()).toEqual(['writes-1', 'writes-2', 'writes-3', 'writes-4']);
    expect(new Set(run.reports.map((report) => report.database)).size).toBe(4);
    expect(run.output).toMatch(/now dropped/);
    expect(await workerDatabasesOf(run.baseName)).toEqual([]);
  });

  it('--parallel=2 with 4 files, and serial: a process running several files resets between them', () => {
    for (const args of [['--parallel=2'], []]) {
      const run = bunTest(args, { workers: 2 });
      expect({ args, passed: run.passed, failed: run.failed, status: run.status }).toEqual({
        args,
        passed: 8,
        failed: 0,
        status: 0,
      });
      const databases = new Set(run.reports.map((report) => report.database));
      expect({ args, databases: databases.size }).toEqual({ args, databases: args.length ? 2 : 1 });
    }
  });

  it('PGWORK_DISABLE=1: the same files share one database and see each other', () => {
    const run = bunTest(['--parallel=4'], { workers: 4, env: { PGWORK_DISABLE: '1', FIXTURE_PAUSE_MS: '1000' } });
    expect(run.failed).toBeGreaterThan(0);
    expect(run.status).not.toBe(0);
  });

  it('without pgwork run: the file fails saying how to start it', () => {
    const run = runRunnerFixture(FIXTURE, [BUN, 'test', '--preload', PRELOAD, 'writes-1.test.mjs'], { PGWORK_RUN: '' });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      "PGWORK_RUN is not set: bun test has no global setup to start pgwork's run; start the tests under pgwork run (pgwork run -- bun test --parallel --preload @pgwork/core/bun).",
    );
  });
});
