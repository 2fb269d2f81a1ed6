// Examples are found by folder: every examples/*/ with a package.json and a
// jest config is one (and runs under Vitest too when it has a vitest config).
// Nothing lists them by hand.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export function discoverExamples() {
  const dir = join(ROOT, 'examples');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name))
    .filter(
      (path) =>
        existsSync(join(path, 'package.json')) &&
        readdirSync(path).some((file) => /^jest\.config\.(ts|js|cjs|mjs)$/.test(file)),
    )
    .map((path) => {
      const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
      return {
        name: manifest.name,
        dir: path,
        short: path.slice(ROOT.length + 1),
        runner: 'jest',
        vitest: readdirSync(path).some((file) => /^vitest\.config\.[cm]?[jt]s$/.test(file)),
      };
    })
    .sort((a, b) => a.short.localeCompare(b.short));
}

const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** The same example run by Vitest (its `vitest.config.*`), for scripts that compare the runners. */
const underVitest = (example) => ({ ...example, runner: 'vitest', short: `${example.short} (vitest)` });

/** The example under Jest, then under Vitest when it has a vitest config. */
export const underEachRunner = (example) => [example, ...(example.vitest ? [underVitest(example)] : [])];

/** The runner's command line: its CLI file and arguments that write Jest-shaped JSON results to `results`. */
function runnerCommand(example, results) {
  const resolve = createRequire(join(example.dir, 'package.json')).resolve;
  if (example.runner === 'vitest') {
    const cli = join(dirname(resolve('vitest/package.json')), 'vitest.mjs');
    return [cli, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`];
  }
  return [resolve('jest/bin/jest'), '--ci', '--json', `--outputFile=${results}`];
}

/**
 * Runs an example's suite once (Jest, or Vitest for an example from underVitest)
 * and returns what it did: tests passed and failed, wall time, pgwork's run
 * report, and the first lines of each failure.
 */
export async function runExample(example, env = {}, extraArgs = [], { onStart } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-demo-'));
  const results = join(work, 'results.json');
  const report = join(work, 'report.json');
  const started = performance.now();
  const child = spawn(process.execPath, [...runnerCommand(example, results), ...extraArgs], {
    cwd: example.dir,
    env: { ...process.env, PGWORK_REPORT: report, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  onStart?.(child, () => output);
  const status = await new Promise((done) => child.on('close', (code, signal) => done(code ?? signal)));
  const seconds = (performance.now() - started) / 1000;
  const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
  const jestResults = read(results);
  const pgwork = read(report);
  rmSync(work, { recursive: true, force: true });
  const failures = [];
  for (const file of jestResults?.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status !== 'failed') continue;
      const message = stripAnsi(test.failureMessages.join('\n'));
      const expected = message.match(/Expected[^:\n]*:\s*(.+)/)?.[1]?.trim();
      const received = message.match(/Received[^:\n]*:\s*(.+)/)?.[1]?.trim();
      const what =
        expected && received
          ? `expected ${expected}, got ${received}`
          : message
              .split('\n')
              .find((line) => line.trim())
              ?.trim();
      failures.push({ file: file.name.split('/').pop(), test: test.title, what });
    }
  }
  return {
    status,
    seconds,
    passed: jestResults?.numPassedTests ?? 0,
    failed: jestResults?.numFailedTests ?? 0,
    total: jestResults?.numTotalTests ?? 0,
    pgwork,
    failures,
    output: stripAnsi(output),
  };
}
