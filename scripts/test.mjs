// `pnpm test`: the formatter and linter (Biome) over the tree, then every
// package's and example's tests through turbo, then one closing line summing
// all Jest runs ("tests: N passed, N failed").
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './examples.mjs';

// A misformatted file or a lint error fails the run before any test: `pnpm format` fixes the former.
const lint = spawnSync('pnpm', ['exec', 'biome', 'check', '.'], { cwd: ROOT, stdio: 'inherit' });
if (lint.status !== 0) {
  console.error('\ntests: not run; `pnpm format` rewrites misformatted files, lint errors need a fix by hand.');
  process.exit(lint.status ?? 1);
}

const RESULTS = '.jest-results.json';
const workspaces = ['packages', 'examples'].flatMap((group) =>
  existsSync(join(ROOT, group)) ? readdirSync(join(ROOT, group)).map((name) => join(ROOT, group, name)) : [],
);
for (const dir of workspaces) rmSync(join(dir, RESULTS), { force: true });

const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', ...process.argv.slice(2), '--', '--json', `--outputFile=${RESULTS}`],
  {
    cwd: ROOT,
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of workspaces) {
  const file = join(dir, RESULTS);
  if (!existsSync(file)) continue;
  const results = JSON.parse(readFileSync(file, 'utf8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests;
  skipped += results.numPendingTests + results.numTodoTests;
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(turbo.status ?? 1);
