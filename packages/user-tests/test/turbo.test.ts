import { spawnSync } from 'node:child_process';
import { ROOT, userEnvironment } from './packages';

// The documented command, from the repository root: turbo 2 runs tasks in
// strict env mode, so these variables arrive only because turbo.json passes
// PGWORK_* through. A test that they do reach the example's Jest.
function turboTestRawPg(env: Record<string, string>) {
  const childEnv = userEnvironment({ TURBO_TELEMETRY_DISABLED: '1', ...env });
  const run = spawnSync('pnpm', ['turbo', 'run', 'test', '--filter=./examples/raw-pg', '--output-logs=full'], {
    cwd: ROOT,
    env: childEnv,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test("PGWORK_DATABASE_URL reaches the example through turbo: an unreachable one fails with pgwork's line", () => {
  const run = turboTestRawPg({ PGWORK_DATABASE_URL: 'postgres://pgwork:pgwork@127.0.0.1:9/postgres' });
  expect(run.output).toMatch(/pgwork: cannot reach Postgres at postgres:\/\/pgwork:\*\*\*@127\.0\.0\.1:9\/postgres/);
  expect(run.status).not.toBe(0);
});

test('PGWORK_DISABLE=1 reaches the example through turbo: the unisolated suite shows contamination', () => {
  const run = turboTestRawPg({ PGWORK_DISABLE: '1' });
  expect(run.output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
  expect(run.output).toMatch(/Tests:\s+\d+ failed/);
  expect(run.status).not.toBe(0);
});
