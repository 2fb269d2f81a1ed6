// Examples are found by folder: every examples/*/ with a package.json and a
// jest config is one (and runs under Vitest too when it has a vitest config,
// under node:test and Bun when it has a pgwork.config.*, under Mocha when it
// has a .mocharc.*);
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
      // node:test and Bun get their run from pgwork run, which reads pgwork.config.*.
      const pgworkConfig = has(/^pgwork\.config\.[cm]?js$/);
      const runners = {
        vitest: has(/^vitest\.config\.[cm]?[jt]s$/),
        'node-test': pgworkConfig,
        mocha: has(/^\.mocharc\.[cm]?js$/),
        bun: pgworkConfig,
      };
      return [
        ...(jest ? [{ ...example, runner: 'jest', vitest: runners.vitest, runners }] : []),
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

/**
 * How each runner is named in labels, its arguments for a serial run (bench's
 * floor), and its argument for shard i of n where it shards.
 */
export const RUNNERS = {
  jest: { label: 'jest', serialArgs: ['--runInBand'], shardArg: (i, n) => `--shard=${i}/${n}` },
  vitest: { label: 'vitest', serialArgs: ['--no-file-parallelism'], shardArg: (i, n) => `--shard=${i}/${n}` },
  'node-test': {
    label: 'node:test',
    serialArgs: ['--test-concurrency=1'],
    shardArg: (i, n) => `--test-shard=${i}/${n}`,
  },
  mocha: { label: 'mocha', serialArgs: ['--no-parallel'] },
  bun: { label: 'bun', serialArgs: ['--parallel=1'] },
};

/** The same example run by another runner of its own (a config for it), for scripts that compare the runners. */
const under = (example, runner) => ({ ...example, runner, short: `${example.short} (${RUNNERS[runner].label})` });

/**
 * The example under Jest, then under each other runner it has a config for
 * (Vitest, node:test, Mocha, Bun); a Playwright example as it is.
 */
export const underEachRunner = (example) => [
  example,
  ...(example.runner === 'jest'
    ? Object.entries(example.runners)
        .filter(([, has]) => has)
        .map(([runner]) => under(example, runner))
    : []),
];

/** Runners started under `pgwork run`: their test processes are its grandchildren. */
export const viaPgworkRun = (example) => example.runner === 'node-test' || example.runner === 'bun';

/**
 * The runner's command line: its CLI file and arguments that write JSON results
 * to `results` (Jest's shape; Playwright's JSON reporter writes its own, to the
 * file in PLAYWRIGHT_JSON_OUTPUT_FILE).
 */
function runnerCommand(example, results, extraArgs) {
  const resolve = createRequire(join(example.dir, 'package.json')).resolve;
  const suiteTests = () => join(dirname(resolve('@pgwork/parallel-suite/package.json')), 'dist/tests');
  // node:test and Bun under pgwork run, as the examples' scripts start them.
  const pgworkRun = [
    join(dirname(resolve('@pgwork/core/package.json')), 'dist/cli/main.js'),
    'run',
    '--workers',
    '4',
    '--',
  ];
  switch (example.runner) {
    case 'playwright':
      return [resolve('@playwright/test/cli'), 'test', '--reporter=list,json', ...extraArgs];
    case 'vitest': {
      const cli = join(dirname(resolve('vitest/package.json')), 'vitest.mjs');
      return [cli, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...extraArgs];
    }
    case 'node-test': {
      const files = readdirSync(suiteTests())
        .filter((file) => file.endsWith('.test.js'))
        .map((file) => join(suiteTests(), file));
      const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
      reporters.push('--test-reporter=junit', `--test-reporter-destination=${results}`);
      const hooks = ['--import', '@pgwork/core/node-test', '--require', '@pgwork/parallel-suite/node-test'];
      return [
        ...pgworkRun,
        process.execPath,
        '--test',
        '--test-concurrency=4',
        ...reporters,
        ...hooks,
        ...extraArgs,
        ...files,
      ];
    }
    case 'mocha':
      return [
        resolve('mocha/bin/mocha.js'),
        '--parallel',
        '--reporter=json',
        `--reporter-option=output=${results}`,
        ...extraArgs,
      ];
    case 'bun': {
      const bun = join(dirname(resolve('bun/package.json')), 'bin/bun.exe');
      const junit = ['--reporter=junit', `--reporter-outfile=${results}`];
      return [
        ...pgworkRun,
        bun,
        'test',
        '--parallel=4',
        ...junit,
        '--preload',
        '@pgwork/core/bun',
        ...extraArgs,
        suiteTests(),
      ];
    }
    default:
      return [resolve('jest/bin/jest'), '--ci', '--json', `--outputFile=${results}`, ...extraArgs];
  }
}

/** Each runner's results file in the shape runExample reads of Jest's. */
const READERS = {
  playwright: (text) => playwrightResults(JSON.parse(text)),
  'node-test': junitResults,
  bun: junitResults,
  mocha: (text) => mochaResults(JSON.parse(text)),
};

/**
 * Runs an example's suite once (under its runner: Jest, or another from underEachRunner,
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
  const child = spawn(process.execPath, runnerCommand(example, results, extraArgs), {
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
  const read = (file, parse = JSON.parse) => (existsSync(file) ? parse(readFileSync(file, 'utf8')) : undefined);
  const jestResults = read(results, READERS[example.runner]);
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
  const byName = new Map([...files].map(([file, tests]) => [basename(file), tests]));
  return jestShape(
    byName,
    (report.errors ?? []).map((error) => error.message ?? String(error)),
  );
}

/** Decodes the XML entities a JUnit report escapes. */
const xmlText = (text) =>
  text
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/**
 * A JUnit report (node:test's and Bun's reporters) in the shape runExample
 * reads of Jest's: each <testcase>, failed when it holds a <failure>, under
 * its file (Bun names it; node:test does not: "node:test").
 */
function junitResults(xml) {
  const files = new Map();
  for (const [, attributes, body = ''] of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attribute = (name) => xmlText(new RegExp(`\\b${name}="([^"]*)"`).exec(attributes)?.[1] ?? '');
    // Its text keeps the message's lines (node:test's message attribute drops them).
    const failure = /<failure\b[^>]*?message="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/failure>)/.exec(body);
    const skipped = /<skipped\b/.test(body);
    const file = basename(attribute('file')) || 'node:test';
    const entry = files.get(file) ?? [];
    entry.push({
      title: attribute('name'),
      status: failure ? 'failed' : skipped ? 'pending' : 'passed',
      failureMessages: failure ? [xmlText(failure[2]?.trim() || failure[1])] : [],
    });
    files.set(file, entry);
  }
  return jestShape(files);
}

/** Mocha's JSON reporter output in the shape runExample reads of Jest's. */
function mochaResults(report) {
  const files = new Map();
  const add = (test, status) => {
    const file = basename(test.file ?? 'mocha');
    const entry = files.get(file) ?? [];
    entry.push({
      title: test.fullTitle,
      status,
      failureMessages: status === 'failed' ? [test.err?.message ?? ''] : [],
    });
    files.set(file, entry);
  };
  for (const test of report.passes ?? []) add(test, 'passed');
  for (const test of report.failures ?? []) add(test, 'failed');
  for (const test of report.pending ?? []) add(test, 'pending');
  return jestShape(files);
}

/** Tests by file in Jest's shape: totals, and each file's tests with their status and messages. */
function jestShape(files, runErrors = []) {
  const tests = [...files.values()].flat();
  const count = (status) => tests.filter((test) => test.status === status).length;
  return {
    numTotalTests: tests.length,
    numPassedTests: count('passed'),
    numFailedTests: count('failed'),
    testResults: [...files].map(([file, assertionResults]) => ({ name: file, assertionResults })),
    runErrors,
  };
}
