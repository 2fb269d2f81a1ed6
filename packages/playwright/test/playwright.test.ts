import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServerUrl } from '@pgwork/core/testing';

// The binding as a user meets it: `playwright test` on a fixture project (an
// HTTP app over pg, API tests through `request`), against pgwork's test server.

const APP = join(__dirname, 'fixtures/app');
const CLI = require.resolve('@playwright/test/cli');

interface PlaywrightRun {
  status: number | null;
  output: string;
  /** Each test's title and status, in the JSON reporter's words. */
  tests: Array<{ title: string; status: string; output: string }>;
}

interface JsonSuite {
  suites?: JsonSuite[];
  specs?: Array<{
    title: string;
    tests: Array<{
      results: Array<{ status: string; stdout: Array<{ text?: string }>; error?: { message?: string } }>;
    }>;
  }>;
}

/** This process's environment without Jest's: Playwright refuses to run where it sees Jest's worker id. */
function userEnvironment(): NodeJS.ProcessEnv {
  const { JEST_WORKER_ID: _jest, ...env } = process.env;
  return env;
}

function playwright(args: string[], env: Record<string, string> = {}): PlaywrightRun {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-playwright-'));
  const results = join(work, 'results.json');
  const barrier = join(work, 'barrier');
  mkdirSync(barrier);
  try {
    const run = spawnSync(process.execPath, [CLI, 'test', ...args], {
      cwd: APP,
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...userEnvironment(),
        PGWORK_DATABASE_URL: testServerUrl(),
        FIXTURE_RESULTS: results,
        FIXTURE_BARRIER: barrier,
        PLAYWRIGHT_HTML_OPEN: 'never',
        ...env,
      },
    });
    const tests: PlaywrightRun['tests'] = [];
    const visit = (suite: JsonSuite) => {
      for (const spec of suite.specs ?? []) {
        for (const test of spec.tests) {
          for (const result of test.results) {
            const printed = result.stdout.map((chunk) => chunk.text ?? '').join('');
            tests.push({ title: spec.title, status: result.status, output: printed + (result.error?.message ?? '') });
          }
        }
      }
      for (const child of suite.suites ?? []) visit(child);
    };
    try {
      visit(JSON.parse(readFileSync(results, 'utf8')) as JsonSuite);
    } catch {}
    return { status: run.status, output: `${run.stdout}${run.stderr}`, tests };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const statuses = (run: PlaywrightRun) => Object.fromEntries(run.tests.map((test) => [test.title, test.status]));

describe('@pgwork/playwright', () => {
  it('gives each worker its own database and server: every test sees exactly its rows, ids from 1', () => {
    const run = playwright(['e2e/isolated.spec.js', '--workers=2']);
    expect(run.tests).toHaveLength(4);
    expect(run.tests.filter((test) => test.status !== 'passed')).toEqual([]);
    expect(run.status).toBe(0);
    // The config's own global setup ran after pgwork's, its teardown before pgwork's.
    expect(run.output).toMatch(/user global setup: run state set/);
    expect(run.output).toMatch(/user global teardown: run state set/);
    expect(run.output).toMatch(/pgwork: run \w+ used 2 database\(s\), now dropped/);
  });

  it('PGWORK_DISABLE=1: the workers share one database, and the same tests see each other', () => {
    const run = playwright(['e2e/isolated.spec.js', '--workers=2'], { PGWORK_DISABLE: '1' });
    expect(run.output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
    expect(run.tests.filter((test) => test.status === 'failed').length).toBeGreaterThan(0);
    expect(run.status).not.toBe(0);
  });

  it('a worker started to replace one whose test failed gets a clean database and a live server', () => {
    const run = playwright(['e2e/restart.spec.js', '--workers=1']);
    expect(statuses(run)).toEqual({
      'writes a row, then fails': 'failed',
      'the replacement worker has a clean database and a live server': 'passed',
    });
    const [first, second] = run.tests.map((test) => /worker (\d+) slot (\d+)/.exec(test.output));
    // Another worker process (workerIndex), the same slot: worker 1's database.
    expect(second?.[1]).not.toBe(first?.[1]);
    expect(second?.[2]).toBe(first?.[2]);
    // The failing test carries its server's output.
    expect(run.output).toMatch(/web server output[\s\S]*listening on \d+ for pgwork_playwright_fixture_\w+_w1/);
  });

  it('resetBefore "file" from a docblock, and reset() on demand', () => {
    const run = playwright(['e2e/reset-file.spec.js', '--workers=1']);
    expect(statuses(run)).toEqual({
      'writes a row': 'passed',
      'finds the row the test before wrote': 'passed',
      'reset() empties it on demand': 'passed',
    });
    // Without the docblock, each test starts empty: the second finds no row.
    const perTest = playwright(['e2e/reset-file.spec.js', '--workers=1'], { PGWORK_RESET_BEFORE: 'test' });
    expect(statuses(perTest)['finds the row the test before wrote']).toBe('failed');
  });

  it('a server that dies fails the next test with its command, port and last output', () => {
    const run = playwright(['e2e/crash.spec.js', '--workers=1']);
    expect(statuses(run)).toEqual({ 'crashes its server': 'passed', 'runs after the crash': 'failed' });
    expect(run.output).toMatch(
      /service "webServer" \(node server\.js\) on port \d+ exited with code 7 while the worker's tests ran; its last output:\n\s+\| listening on \d+ for \w+\n\s+\| crashing on request/,
    );
  });

  it('a server that exits before it is ready fails the worker with its output, and the run ends', () => {
    const run = playwright(['e2e/isolated.spec.js', '--workers=1', '--max-failures=1'], {
      FIXTURE_SERVER_FAILS: 'no config file',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      /worker 1's service "webServer" \(node server\.js\) on port \d+ exited with code 3 before it was ready; fix the command[^\n]*; its last output:\n\s+\| cannot start: no config file/,
    );
    expect(run.output).toMatch(/now dropped/);
  });

  it('a server that never listens fails after its timeout, naming what was waited for', () => {
    const run = playwright(['e2e/isolated.spec.js', '--workers=1', '--max-failures=1'], {
      FIXTURE_SERVER_SILENT: '1',
      FIXTURE_SERVER_TIMEOUT: '2000',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      /service "webServer" \(node server\.js\) on port (\d+) was not ready within 2 s \(waited for http:\/\/127\.0\.0\.1:\1\/health to answer\)/,
    );
  });
});

/** Processes of ours whose command line has `part` and whose environment has `mark`. */
function processesWith(mark: string, part: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (environ.includes(`FIXTURE_MARK=${mark}\0`) && cmdline.includes(part)) found.push(Number(entry));
    } catch {}
  }
  return found;
}

async function until(what: string, condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms / 1000} s for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('@pgwork/playwright, a server that never becomes ready', () => {
  it("is started once per worker number: the workers Playwright starts to replace the failing one fail at once with the first one's error", () => {
    const work = mkdtempSync(join(tmpdir(), 'pgwork-playwright-starts-'));
    const starts = join(work, 'starts');
    try {
      const run = playwright(['e2e/isolated.spec.js', '--workers=1'], {
        FIXTURE_SERVER_SILENT: '1',
        FIXTURE_SERVER_TIMEOUT: '2000',
        FIXTURE_STARTS: starts,
      });
      expect(run.tests.map((test) => test.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
      for (const test of run.tests) expect(test.output).toMatch(/was not ready within 2 s/);
      expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('@pgwork/playwright, interrupted', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGKILL'] as const)(
    'a run ended by %s leaves no server or supervisor, and the next run is green',
    async (signal) => {
      const mark = `${signal}-${process.pid}-${Date.now()}`;
      const env = { ...userEnvironment(), PGWORK_DATABASE_URL: testServerUrl(), FIXTURE_MARK: mark };
      const run = spawn(process.execPath, [CLI, 'test', 'e2e/long.spec.js', '--workers=2'], {
        cwd: APP,
        env,
        stdio: 'ignore',
      });
      try {
        // Mid-run: a worker's server is up (on a loaded machine the other worker may not have started its own yet).
        await until("a worker's server", () => processesWith(mark, 'server.js').length > 0, 120_000);
        run.kill(signal);
        const left = () => [...processesWith(mark, 'server.js'), ...processesWith(mark, 'service-supervisor')];
        // Supervisors check their owners four times a second and give a server 5 s to stop.
        await until('no server or supervisor left', () => left().length === 0, 30_000);
      } finally {
        run.kill('SIGKILL');
      }
      const next = playwright(['e2e/isolated.spec.js', '--workers=2']);
      expect(next.tests.filter((test) => test.status !== 'passed')).toEqual([]);
      // SIGKILL gave the run no teardown: the next run reclaims its databases.
      if (signal === 'SIGKILL') expect(next.output).toMatch(/reclaimed \d+ database\(s\) of dead runs/);
    },
  );
});
