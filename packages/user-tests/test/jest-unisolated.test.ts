import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, stripAnsi, userEnvironment } from './packages';

// Every example's own `pnpm test` (Jest) runs isolated in turbo's test task; here
// the same suite with pgwork switched off must show the contamination it
// prevents, so a green isolated run means something. Examples are found by folder.
const examples = readdirSync(join(ROOT, 'examples')).filter((name) =>
  readdirSync(join(ROOT, 'examples', name)).some((file) => /^jest\.config\.[cm]?[jt]s$/.test(file)),
);

test.each(examples)('examples/%s under Jest with PGWORK_DISABLE=1: one shared database, tests fail', (name) => {
  const run = spawnSync('pnpm', ['exec', 'jest', '--ci'], {
    cwd: join(ROOT, 'examples', name),
    env: userEnvironment({ PGWORK_DISABLE: '1' }),
    encoding: 'utf8',
  });
  const output = stripAnsi(`${run.stdout}${run.stderr}`);
  expect(output).toMatch(/PGWORK_DISABLE=1: all workers share one database/);
  expect(output).toMatch(/Tests:\s+\d+ failed/);
  expect(run.status).not.toBe(0);
});
