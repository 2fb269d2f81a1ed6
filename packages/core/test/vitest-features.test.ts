import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listOwnedDatabases } from '../src/admin/databases';
import { databaseUrl } from '../src/shared/naming';
import { dropOwnedWithBase, rows, runFixture, serverUrl, uniqueBase, withAdmin } from './helpers';

// pgwork's promises that depend on the runner, checked under Vitest with the
// fixture projects in test/fixtures/vitest (the twin of jest-features.test.ts).
const CONFIG = join(__dirname, 'fixtures/vitest/vitest.config.mjs');
const CLI = join(__dirname, '../dist/cli/main.js');

async function feature(
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
  /** Raw probes of what the run left, before it is dropped. */
  probe?: (leftovers: string[]) => Promise<void>,
) {
  const baseName = uniqueBase(name.replace(/-/g, '').slice(0, 8));
  try {
    const run = runFixture(
      { FEATURE: name, PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName, NO_COLOR: '1', ...env },
      CONFIG,
      args,
    );
    const left = await withAdmin((admin) => listOwnedDatabases(admin));
    const leftovers = left
      .filter((db) => db.name.startsWith(`${baseName}_`) && db.marker.kind !== 'template')
      .map((db) => db.name);
    await probe?.(leftovers);
    return { ...run, leftovers };
  } finally {
    await dropOwnedWithBase(baseName);
  }
}

const expectPassed = (run: { output: string; status: number | null }, tests: number) => {
  expect(run.output).toMatch(new RegExp(`Tests\\s+${tests} passed \\(${tests}\\)`));
  expect(run.status).toBe(0);
};

describe('fake timers (vi.useFakeTimers from the first line of the file)', () => {
  it.each([
    ['forks, Vitest defaults', ['--pool=forks'], {}],
    ['threads, Vitest defaults', ['--pool=threads'], {}],
    ['threads, process.nextTick faked too', ['--pool=threads'], { FAKE_NEXT_TICK: '1' }],
  ])("%s: never hang pgwork's connect, reset and errors", async (_name, args, env) => {
    const run = await feature('fake-timers', args, env);
    expectPassed(run, 3);
    expect(run.leftovers).toEqual([]);
  });
});

describe("the server named in the Vitest config's test.env", () => {
  it('is the one the run uses (Vitest sets test.env in the workers only), and the run line says so; pgwork doctor reads it too', async () => {
    const env = { PGWORK_DATABASE_URL: '', FIXTURE_TEST_ENV_DATABASE_URL: serverUrl() };
    const run = await feature('fake-timers', [], env);
    expectPassed(run, 3);
    const { port } = new URL(serverUrl());
    expect(run.output).toContain(
      `on Postgres at 127.0.0.1:${port} from DATABASE_URL in test.env of the Vitest config, version`,
    );
    expect(run.output).not.toMatch(/embedded/);
    const doctor = spawnSync(process.execPath, [CLI, 'doctor', '--config', CONFIG], {
      env: { ...process.env, ...env, FEATURE: 'fake-timers', DATABASE_URL: '' },
      encoding: 'utf8',
    });
    expect(doctor.stdout).toMatch(
      /ok\s+server\s+PostgreSQL \d+.*\(from DATABASE_URL in test\.env of the Vitest config\)/,
    );
  });
});

describe('PGWORK_KEEP=failed', () => {
  // Under reset "transaction" pgwork's own connections (the kept copy's) share the app's pg: none is routed.
  it.each([['empty'], ['transaction']])(
    "reset %s: keeps the database of the failing test as it was, from the test's context",
    async (reset) => {
      let kept: Array<{ label: string }> = [];
      const run = await feature(
        'keep-failed',
        [],
        { PGWORK_KEEP: 'failed', PGWORK_RESET: reset },
        async (leftovers) => {
          expect(leftovers).toEqual([expect.stringMatching(/_w1_f[a-z0-9]+$/)]);
          kept = await rows(databaseUrl(serverUrl(), leftovers[0]!), 'SELECT label FROM items ORDER BY id');
        },
      );
      expect(run.output).toMatch(/Tests\s+1 failed \| 2 passed \(3\)/);
      expect(run.output).toMatch(
        /pgwork: kept the database of failed test "keep-failed.spec.mjs > a file with a failure > fails after writing" as \w+_w1_f[a-z0-9]+/,
      );
      expect(kept).toEqual([{ label: 'kept 1' }, { label: 'kept 2' }]);
    },
  );
});

describe('PGWORK_TIMINGS', () => {
  it.each([['forks'], ['threads']])('%s: every worker appends a line per pgwork step it ran', async (pool) => {
    const file = join(mkdtempSync(join(tmpdir(), 'pgwork-timings-')), 'timings.jsonl');
    const run = await feature('fake-timers', [`--pool=${pool}`], { PGWORK_TIMINGS: file });
    expectPassed(run, 3);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    // One file of three tests: its setup, three resets and three after-test steps, its teardown.
    expect(lines.map((line) => line.step).sort()).toEqual(
      [
        'afterFile',
        'afterTest',
        'afterTest',
        'afterTest',
        'beforeFile',
        'beforeTest',
        'beforeTest',
        'beforeTest',
      ].sort(),
    );
    for (const line of lines)
      expect(line).toEqual({ step: line.step, worker: 1, pid: expect.any(Number), ms: expect.any(Number) });
  });
});
