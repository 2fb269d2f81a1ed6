// Examples are found by folder: every examples/*/ with a package.json and a
// jest config is one (and runs under Vitest too when it has a vitest config);
// every one with a playwright config is a Playwright example (runner
// 'playwright': its own suite, not the shared one the Jest examples have).
// Nothing lists them by hand.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export function discoverExamples() {
  const dir = join(ROOT, 'examples');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name))
    .filter((path) => existsSync(join(path, 'package.json')))
    .flatMap((path) => {
      const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
      const files = readdirSync(path);
      const has = (pattern) => files.some((file) => pattern.test(file));
      const example = { name: manifest.name, dir: path, short: path.slice(ROOT.length + 1) };
      const jest = has(/^jest\.config\.(ts|js|cjs|mjs)$/);
      return [
        ...(jest ? [{ ...example, runner: 'jest', vitest: has(/^vitest\.config\.[cm]?[jt]s$/) }] : []),
        ...(has(/^playwright\.config\.[cm]?[jt]s$/)
          ? [{ ...example, short: jest ? `${example.short} (playwright)` : example.short, runner: 'playwright' }]
          : []),
      ];
    })
    .sort((a, b) => a.short.localeCompare(b.short));
}

/**
 * Whether the example runs the suite the Jest examples share (a scenario file,
 * PGWORK_RESET=transaction, a schema per worker, --runInBand, the pgwork CLI
 * reading its Jest config): a Playwright example has its own suite and an app
 * server per worker, which writes from its own process (no transaction reset).
 */
export const sharesSuite = (example) => example.runner !== 'playwright';

const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** The same example run by Vitest (its `vitest.config.*`), for scripts that compare the runners. */
const underVitest = (example) => ({ ...example, runner: 'vitest', short: `${example.short} (vitest)` });

/** The example under Jest, then under Vitest when it has a vitest config; a Playwright example as it is. */
export const underEachRunner = (example) => [
  example,
  ...(example.runner === 'jest' && example.vitest ? [underVitest(example)] : []),
];

/**
 * The runner's command line: its CLI file and arguments that write JSON results
 * to `results` (Jest's shape; Playwright's JSON reporter writes its own, to the
 * file in PLAYWRIGHT_JSON_OUTPUT_FILE).
 */
function runnerCommand(example, results) {
  const resolve = createRequire(join(example.dir, 'package.json')).resolve;
  if (example.runner === 'playwright') return [resolve('@playwright/test/cli'), 'test', '--reporter=list,json'];
  if (example.runner === 'vitest') {
    const cli = join(dirname(resolve('vitest/package.json')), 'vitest.mjs');
    return [cli, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`];
  }
  return [resolve('jest/bin/jest'), '--ci', '--json', `--outputFile=${results}`];
}

/**
 * Runs an example's suite once (Jest, Vitest for an example from underVitest,
 * or `playwright test` for a Playwright example) and returns what it did: tests
 * passed and failed, wall time, pgwork's run report, and the first lines of each failure.
 */
export async function runExample(example, env = {}, extraArgs = [], { onStart } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-demo-'));
  const results = join(work, 'results.json');
  const report = join(work, 'report.json');
  const childEnv = { ...process.env, PGWORK_REPORT: report, ...env };
  if (example.runner === 'playwright') {
    delete childEnv.JEST_WORKER_ID; // Playwright refuses to run where it sees one
    childEnv.PLAYWRIGHT_JSON_OUTPUT_FILE = results;
    delete childEnv.PLAYWRIGHT_JSON_OUTPUT_NAME;
  }
  const started = performance.now();
  const child = spawn(process.execPath, [...runnerCommand(example, results), ...extraArgs], {
    cwd: example.dir,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  onStart?.(child, () => output);
  const status = await new Promise((done) => child.on('close', (code, signal) => done(code ?? signal)));
  const seconds = (performance.now() - started) / 1000;
  const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
  const raw = read(results);
  const jestResults = example.runner === 'playwright' ? playwrightResults(raw) : raw;
  const pgwork = read(report);
  rmSync(work, { recursive: true, force: true });
  const failures = [];
  for (const file of jestResults?.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status !== 'failed') continue;
      failures.push({ file: file.name.split('/').pop(), test: test.title, what: firstLine(test.failureMessages) });
    }
  }
  // Errors outside any test (a Playwright global setup that threw, say).
  for (const error of jestResults?.runErrors ?? [])
    failures.push({ file: '(run)', test: '', what: firstLine([error]) });
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

/** A failure's first telling line: the "Expected/Received" pair when it has one. */
function firstLine(messages) {
  const message = stripAnsi(messages.join('\n'));
  const expected = message.match(/Expected[^:\n]*:\s*(.+)/)?.[1]?.trim();
  const received = message.match(/Received[^:\n]*:\s*(.+)/)?.[1]?.trim();
  return expected && received
    ? `expected ${expected}, got ${received}`
    : message
        .split('\n')
        .find((line) => line.trim())
        ?.trim();
}

/**
 * Playwright's JSON report in the shape runExample reads of Jest's (totals, and
 * per file the tests that failed with their messages), plus its run-level errors.
 * A test is each spec in each project; "flaky" (passed on retry) counts as passed.
 */
function playwrightResults(report) {
  if (!report) return undefined;
  const files = new Map();
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        const messages = (test.results ?? []).flatMap((result) =>
          (result.errors ?? []).map((error) => error.message ?? error.value ?? String(error)),
        );
        const status = { expected: 'passed', flaky: 'passed', unexpected: 'failed', skipped: 'pending' }[test.status];
        const entry = files.get(spec.file) ?? [];
        entry.push({ title: [...titles, spec.title].join(' > '), status, failureMessages: messages });
        files.set(spec.file, entry);
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title]);
  };
  for (const file of report.suites ?? []) walk(file, []);
  const tests = [...files.values()].flat();
  const count = (status) => tests.filter((test) => test.status === status).length;
  return {
    numTotalTests: tests.length,
    numPassedTests: count('passed'),
    numFailedTests: count('failed'),
    testResults: [...files].map(([file, assertionResults]) => ({ name: basename(file), assertionResults })),
    runErrors: (report.errors ?? []).map((error) => error.message ?? String(error)),
  };
}
