import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, userEnvironment } from './packages';

// Every example with a Vitest config runs the shared parallel suite under Vitest
// through its documented script (`pnpm test:vitest`): green, in reset
// "transaction" where its adapter declares it, and visibly contaminated when
// pgwork is switched off. The first example also runs in both pools, with and
// without isolation of the module graph (what the pool changes is pgwork's
// binding, not the adapter). Examples are found by folder.
const examples = readdirSync(join(ROOT, 'examples'))
  .map((name) => join(ROOT, 'examples', name))
  .filter((dir) => readdirSync(dir).some((file) => /^vitest\.config\.[cm]?[jt]s$/.test(file)));
/** Each example's declared modes, from its adapter's describe() (scripts/core.mjs modes). */
const declared = JSON.parse(
  execFileSync(process.execPath, [join(ROOT, 'scripts/core.mjs'), 'modes', ...examples], { encoding: 'utf8' }),
) as Record<string, { reset: string[] }>;

interface VitestRun {
  status: number | null;
  output: string;
  passed: number;
  failed: number;
  /** pgwork's report of the run (PGWORK_REPORT). */
  report?: { databases: string[]; shared: string | null };
}

function vitest(dir: string, args: string[], env: Record<string, string> = {}): VitestRun {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-vitest-'));
  const results = join(work, 'results.json');
  const report = join(work, 'report.json');
  const childEnv = userEnvironment({ PGWORK_REPORT: report, ...env });
  const run = spawnSync(
    'pnpm',
    ['run', 'test:vitest', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...args],
    { cwd: dir, env: childEnv, encoding: 'utf8' },
  );
  const read = (file: string) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
  const json = read(results);
  const result = {
    status: run.status,
    output: `${run.stdout}${run.stderr}`,
    passed: json?.numPassedTests ?? 0,
    failed: json?.numFailedTests ?? 0,
    report: read(report),
  };
  rmSync(work, { recursive: true, force: true });
  return result;
}

test('every example of the shared suite (a Jest config) has a Vitest config', () => {
  // examples/playwright runs a Playwright suite of its own, not the shared one.
  const all = readdirSync(join(ROOT, 'examples')).filter((name) =>
    readdirSync(join(ROOT, 'examples', name)).some((file) => /^jest\.config\.[cm]?[jt]s$/.test(file)),
  );
  expect(examples.map((dir) => dir.split('/').pop())).toEqual(all);
  expect(all).toEqual(
    expect.arrayContaining([
      'drizzle',
      'knex',
      'kysely',
      'mikro-orm',
      'node-pg-migrate',
      'prisma',
      'raw-pg',
      'sequelize',
      'typeorm',
    ]),
  );
});

const POOLS: Array<[string, string[]]> = [
  ['forks (the default)', []],
  ['threads: each thread its own process.env and pg', ['--pool=threads']],
  ['forks, isolate: false (one module graph per worker)', ['--no-isolate']],
  ['threads, isolate: false', ['--pool=threads', '--no-isolate']],
];

describe.each(examples.map((dir, i) => [dir.split('/').pop()!, dir, i]))(
  'examples/%s under Vitest',
  (_name, dir, i) => {
    it.each(i === 0 ? POOLS : POOLS.slice(0, 1))('%s: green, each of 4 workers on its own database', (_pool, args) => {
      const run = vitest(dir, args);
      // On a failure the diff shows how the run ended (a file that failed to load counts no failed test).
      const ended = run.status === 0 ? {} : { output: run.output.slice(-3000) };
      expect({ status: run.status, failed: run.failed, ...ended }).toEqual({ status: 0, failed: 0 });
      expect(run.passed).toBeGreaterThanOrEqual(20);
      expect(run.output).toMatch(/pgwork: run \w+ on .*; template \w+ (built|reused)/);
      expect(run.report?.databases).toHaveLength(4);
      expect(run.report?.shared).toBeNull();
    });

    if (declared[dir]!.reset.includes('transaction')) {
      it('reset "transaction" (the app\'s own client routed into one rolled-back transaction): green', () => {
        const run = vitest(dir, [], { PGWORK_RESET: 'transaction' });
        expect({ status: run.status, failed: run.failed }).toEqual({ status: 0, failed: 0 });
      });
    } else {
      it('reset "transaction", which its adapter does not declare: refused before any test, in one line with the reason', () => {
        const run = vitest(dir, [], { PGWORK_RESET: 'transaction' });
        expect(run.status).not.toBe(0);
        expect(run.passed).toBe(0);
        expect(run.output).toMatch(/adapter [\w-]+ does not support reset "transaction" \(.+\); use reset "empty"/);
      });
    }

    it('PGWORK_DISABLE=1: one shared database, and the suite shows the contamination', () => {
      const run = vitest(dir, [], { PGWORK_DISABLE: '1' });
      expect(run.output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
      expect(run.failed).toBeGreaterThan(0);
      expect(run.status).not.toBe(0);
    });
  },
);
