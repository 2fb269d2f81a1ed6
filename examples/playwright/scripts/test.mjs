// `pnpm test` for this example: the Playwright suite isolated (each worker its own
// database and app server; it must pass), then unisolated (PGWORK_DISABLE=1: every
// worker and its server on one shared database; it must fail, or the isolated pass
// would prove nothing). The repository's `pnpm test` appends Jest's flags
// `--json --outputFile=<file>`: the isolated run's totals are written there in
// Jest's JSON shape, which scripts/test.mjs at the root sums. Other arguments go
// to both `playwright test` runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const PLAYWRIGHT_CLI = createRequire(join(ROOT, 'package.json')).resolve('@playwright/test/cli');

function parseArgs(args) {
  let outputFile;
  const forwarded = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') continue; // results are written whenever --outputFile names a file
    if (arg.startsWith('--outputFile=')) outputFile = arg.slice('--outputFile='.length);
    else if (arg === '--outputFile') outputFile = args[++i];
    else forwarded.push(arg);
  }
  return { outputFile: outputFile && resolve(process.cwd(), outputFile), forwarded };
}

const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** Every test of Playwright's JSON report, flattened: file, title path, outcome and failure messages. */
function testsOf(report) {
  const tests = [];
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        const errors = test.results.flatMap((result) => result.errors ?? []);
        tests.push({
          file: spec.file,
          titles: [...titles, spec.title],
          status: test.status, // expected, unexpected, flaky or skipped
          failureMessages: errors.map((error) => stripAnsi(error.message ?? error.value ?? String(error))),
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title]);
  };
  for (const file of report.suites ?? []) walk(file, []);
  return tests;
}

/** One `playwright test` run, its output shown as it goes; what Playwright's JSON reporter recorded of it. */
function runSuite(env) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-playwright-'));
  const reportFile = join(work, 'report.json');
  const started = performance.now();
  const child = spawnSync(process.execPath, [PLAYWRIGHT_CLI, 'test', '--reporter=list,json', ...forwarded], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...env, PLAYWRIGHT_JSON_OUTPUT_FILE: reportFile },
  });
  const seconds = (performance.now() - started) / 1000;
  let report;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch {}
  rmSync(work, { recursive: true, force: true });
  const tests = report ? testsOf(report) : [];
  const count = (...statuses) => tests.filter((test) => statuses.includes(test.status)).length;
  return {
    status: child.status ?? child.signal,
    seconds,
    report,
    tests,
    workers: report?.config?.metadata?.actualWorkers ?? report?.config?.workers,
    passed: count('expected', 'flaky'),
    failed: count('unexpected'),
    skipped: count('skipped'),
    errors: (report?.errors ?? []).map((error) => stripAnsi(error.message ?? String(error))),
  };
}

/** The run in the shape of Jest's --json output, as far as pnpm test and the repository's scripts read it. */
function jestShaped(run) {
  const files = new Map();
  for (const test of run.tests) files.set(test.file, [...(files.get(test.file) ?? []), test]);
  const jestStatus = { expected: 'passed', flaky: 'passed', unexpected: 'failed', skipped: 'pending' };
  return {
    success: run.status === 0 && run.failed === 0,
    numTotalTests: run.tests.length,
    numPassedTests: run.passed,
    numFailedTests: run.failed,
    numPendingTests: run.skipped,
    numTodoTests: 0,
    testResults: [...files].map(([file, tests]) => ({
      name: resolve(run.report.config.rootDir, file),
      status: tests.some((test) => test.status === 'unexpected') ? 'failed' : 'passed',
      assertionResults: tests.map((test) => ({
        title: test.titles.at(-1),
        fullName: test.titles.join(' '),
        status: jestStatus[test.status],
        failureMessages: test.failureMessages,
      })),
    })),
  };
}

/** A failure's first telling line: Playwright's "Expected/Received" pair when it has one. */
function failureLine(test) {
  const message = test.failureMessages.join('\n');
  const expected = message.match(/Expected[^:\n]*:\s*(.+)/)?.[1]?.trim();
  const received = message.match(/Received[^:\n]*:\s*(.+)/)?.[1]?.trim();
  const what =
    expected && received
      ? `expected ${expected}, got ${received}`
      : message
          .split('\n')
          .find((line) => line.trim())
          ?.trim();
  return `${basename(test.file)} > ${test.titles.join(' > ')}: ${what ?? 'no message'}`;
}

// Assertions that saw the wrong rows, as opposed to a run that could not work at all (no server, no database).
const isAssertionFailure = (test) => test.failureMessages.some((message) => /expect\(/.test(message));

const { outputFile, forwarded } = parseArgs(process.argv.slice(2));
const { PGWORK_DISABLE: _ignored, ...isolatedEnv } = process.env;

console.log('examples/playwright: the suite isolated (a database and an app server per worker)...\n');
const isolated = runSuite(isolatedEnv);
if (outputFile && isolated.report) writeFileSync(outputFile, `${JSON.stringify(jestShaped(isolated), null, 2)}\n`);

console.log('\nexamples/playwright: the same suite unisolated (PGWORK_DISABLE=1: one database for every worker)...\n');
const shared = runSuite({ ...process.env, PGWORK_DISABLE: '1' });

const summary = (run) =>
  `${run.passed} passed, ${run.failed} failed${run.skipped ? `, ${run.skipped} skipped` : ''} at ${run.workers ?? '?'} workers in ${run.seconds.toFixed(1)} s`;
const isolatedPassed =
  isolated.status === 0 && isolated.report && isolated.failed === 0 && isolated.passed > 0 && !isolated.errors.length;
const contaminated = shared.failed > 0 && !shared.errors.length && shared.tests.some(isAssertionFailure);

console.log('\nexamples/playwright');
console.log(
  `  isolated (pgwork):             ${summary(isolated)}: ${isolatedPassed ? 'passes, as it must' : 'FAILED'}`,
);
for (const test of isolated.tests.filter((test) => test.status === 'unexpected'))
  console.log(`    ${failureLine(test)}`);
for (const error of isolated.errors) console.log(`    ${error.split('\n')[0]}`);
if (!isolated.report) console.log(`    no report from Playwright (exit ${isolated.status})`);

console.log(
  `  unisolated (PGWORK_DISABLE=1): ${summary(shared)}: ${
    contaminated
      ? `fails, as it must: ${shared.failed} tests saw other workers' rows`
      : 'NO CONTAMINATION SEEN: the isolated pass proves nothing this time (a race; rerun, or widen the pauses)'
  }`,
);
const sharedFailures = shared.tests.filter((test) => test.status === 'unexpected');
for (const test of sharedFailures.slice(0, 5)) console.log(`    ${failureLine(test)}`);
if (sharedFailures.length > 5) console.log(`    ... and ${sharedFailures.length - 5} more`);
for (const error of shared.errors) console.log(`    ${error.split('\n')[0]}`);

process.exit(isolatedPassed && contaminated ? 0 : 1);
