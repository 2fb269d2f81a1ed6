// `pnpm demo`: each example's suite at 4 workers with pgwork, then the same
// suite unisolated (PGWORK_DISABLE=1: one shared database, still truncated
// before each test), side by side; under Jest, and under Vitest for every
// example with a vitest config; a Playwright example (a playwright config) by
// `playwright test --workers=4`, each worker with its own app server. Exits
// non-zero if an isolated run fails.
import { discoverExamples, runExample, sharesSuite, underEachRunner } from './examples.mjs';

const examples = discoverExamples();
const only = process.argv.slice(2);
const chosen = (only.length ? examples.filter((e) => only.some((name) => e.short.includes(name))) : examples).flatMap(
  underEachRunner,
);
let broken = 0;

const pad = (text, width) => String(text).padEnd(width);
function row(label, a, b) {
  console.log(`  ${pad(label, 16)} ${pad(a, 34)} ${b}`);
}

for (const example of chosen) {
  // A Playwright example's own config names its worker count; the demo's is 4, as the others'.
  const args = example.runner === 'playwright' ? ['--workers=4'] : [];
  process.stderr.write(`\n${example.short}: running the suite isolated...`);
  const isolated = await runExample(example, {}, args);
  process.stderr.write(' and unisolated...\n');
  const shared = await runExample(example, { PGWORK_DISABLE: '1' }, args);
  let scenario;
  if (sharesSuite(example)) {
    process.stderr.write('  and its scenario file with a reset before every test...\n');
    // scenario.test.js asks for one reset per file (its docblock); PGWORK_RESET_BEFORE=test overrides that.
    scenario = await runExample(example, { PGWORK_RESET_BEFORE: 'test' }, ['scenario']);
  }

  console.log(`\n${example.short}`);
  row('', 'isolated (pgwork)', 'unisolated (PGWORK_DISABLE=1)');
  // A Playwright example's workers each have an app server too, on their database (or the shared one).
  const server = example.runner === 'playwright';
  const workers = (run) =>
    run.pgwork
      ? run.pgwork.shared
        ? '1 shared database for all workers'
        : `${run.pgwork.databases.length} (${server ? 'a database + app server' : 'one database'} each)`
      : '?';
  row('workers', workers(isolated), workers(shared));
  const template = (run) =>
    run.pgwork
      ? `template ${run.pgwork.template?.built ? `built (${Math.round(run.pgwork.migrateMs)} ms)` : 'reused'}`
      : 'no report';
  row(
    'databases',
    `${isolated.pgwork?.databases.length ?? '?'} cloned, ${template(isolated)}`,
    `1 cloned, ${template(shared)}`,
  );
  row(
    'tests',
    `${isolated.passed} passed, ${isolated.failed} failed`,
    `${shared.passed} passed, ${shared.failed} failed`,
  );
  row('wall time', `${isolated.seconds.toFixed(1)} s`, `${shared.seconds.toFixed(1)} s`);
  row(
    'contamination',
    isolated.failed ? 'FAILURES (see below)' : 'none',
    shared.failed ? `${shared.failed} tests saw other workers' rows` : 'none seen this time (rerun: it is a race)',
  );
  for (const failure of shared.failures.slice(0, 4))
    console.log(`    ${failure.file} > ${failure.test}: ${failure.what}`);
  if (shared.failures.length > 4) console.log(`    ... and ${shared.failures.length - 4} more`);
  if (scenario) {
    console.log(
      `  the scenario file (tests that build on each other): ${isolated.failures.some((f) => f.file.startsWith('scenario')) ? 'FAILED' : 'passes'} with its docblock's resetBefore "file"; ` +
        `with the default reset before every test, ${scenario.failed} of ${scenario.total} fail:`,
    );
    for (const failure of scenario.failures.slice(0, 2))
      console.log(`    ${failure.file} > ${failure.test}: ${failure.what}`);
  }

  if (isolated.status !== 0 || isolated.failed > 0 || isolated.total === 0) {
    broken++;
    console.log(`\n  The isolated run failed:`);
    for (const failure of isolated.failures) console.log(`    ${failure.file} > ${failure.test}: ${failure.what}`);
    if (!isolated.failures.length)
      console.log(
        isolated.output
          .split('\n')
          .slice(-30)
          .map((line) => `    ${line}`)
          .join('\n'),
      );
  }
}
if (!chosen.length) console.log('No examples found under examples/.');
process.exitCode = broken ? 1 : 0;
