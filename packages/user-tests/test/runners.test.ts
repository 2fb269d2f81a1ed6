import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, stripAnsi, userEnvironment } from './packages';

// Every example of the shared suite runs it under node:test, Mocha (--parallel)
// and Bun through its documented scripts (`pnpm test:node`, `test:mocha`,
// `test:bun`: `pgwork run` or Mocha's binding, options from pgwork.config.cjs):
// green, the run on more than one database (every example: its app loads under
// each runner); and visibly contaminated when pgwork is switched off (the first
// example: the binding, not the app, decides that). Examples are found by
// folder: those with a pgwork.config.cjs.
const examples = readdirSync(join(ROOT, 'examples'))
  .map((name) => join(ROOT, 'examples', name))
  .filter((dir) => existsSync(join(dir, 'pgwork.config.cjs')));

/** Each runner: its script, and how its summary counts passed and failed tests. */
const RUNNERS = [
  { runner: 'node:test', script: 'test:node', passed: /^# pass (\d+)$/m, failed: /^# fail (\d+)$/m },
  { runner: 'Mocha --parallel', script: 'test:mocha', passed: /^ *(\d+) passing/m, failed: /^ *(\d+) failing/m },
  { runner: 'Bun --parallel', script: 'test:bun', passed: /^ *(\d+) pass$/m, failed: /^ *(\d+) fail$/m },
] as const;

type Runner = (typeof RUNNERS)[number];

function runSuite(dir: string, runner: Runner, env: Record<string, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-runners-'));
  const report = join(work, 'report.json');
  try {
    const run = spawnSync('pnpm', ['run', runner.script], {
      cwd: dir,
      env: userEnvironment({ PGWORK_REPORT: report, ...env }),
      encoding: 'utf8',
    });
    const output = stripAnsi(`${run.stdout}${run.stderr}`);
    const count = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
    const pgwork = existsSync(report)
      ? (JSON.parse(readFileSync(report, 'utf8')) as { databases: string[]; shared: string | null })
      : undefined;
    return { status: run.status, output, passed: count(runner.passed), failed: count(runner.failed), pgwork };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

test('every example of the shared suite (a Jest config) has a pgwork.config.cjs', () => {
  const all = readdirSync(join(ROOT, 'examples')).filter((name) =>
    readdirSync(join(ROOT, 'examples', name)).some((file) => /^jest\.config\.[cm]?[jt]s$/.test(file)),
  );
  expect(examples.map((dir) => dir.split('/').pop())).toEqual(all);
});

describe.each(examples.map((dir, i) => [dir.split('/').pop()!, dir, i]))('examples/%s', (_name, dir, i) => {
  it.each(RUNNERS.map((runner) => [runner.runner, runner]))(
    'under %s: green, each worker on its own database',
    (_runner, runner) => {
      const run = runSuite(dir, runner);
      // On a failure the diff shows how the run ended.
      const ended = run.status === 0 && run.failed === 0 ? {} : { output: run.output.slice(-3000) };
      expect({ status: run.status, failed: run.failed, ...ended }).toEqual({ status: 0, failed: 0 });
      expect(run.passed).toBeGreaterThanOrEqual(20);
      expect(run.output).toMatch(/pgwork: run \w+ on .*; template \w+ (built|reused)/);
      expect(run.pgwork?.databases.length).toBeGreaterThan(1);
      expect(run.pgwork?.shared).toBeNull();
    },
  );

  if (i === 0)
    it.each(RUNNERS.map((runner) => [runner.runner, runner]))(
      'under %s with PGWORK_DISABLE=1: one shared database, and the suite shows the contamination',
      (_runner, runner) => {
        const run = runSuite(dir, runner, { PGWORK_DISABLE: '1' });
        expect(run.output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
        expect(run.failed).toBeGreaterThan(0);
        expect(run.status).not.toBe(0);
      },
    );
});
