// pgwork's internals for the repo's own scripts (bench, stress, demo), loaded
// from core's build by path: they are not part of any public entry point.
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './examples.mjs';

const require = createRequire(import.meta.url);
export const CORE_DIST = join(ROOT, 'packages/core/dist');
const load = (path) => require(join(CORE_DIST, path));

export const core = {
  ...load('shared/naming.js'),
  ...load('shared/connection.js'),
  ...load('shared/fingerprint.js'),
  ...load('shared/child.js'),
  ...load('shared/adapter.js'),
  ...load('shared/packages.js'),
  ...load('admin/databases.js'),
  ...load('setup/embedded.js'),
  ...load('setup/cluster.js'),
  ...load('setup/cluster-files.js'),
  ...load('setup/run.js'),
  ...load('worker/reset.js'),
  ...load('worker/session.js'),
  ...load('testing/server.js'),
  ...load('cli/project.js'),
};

/**
 * The isolation and reset modes an example's adapter declares (its describe(),
 * from the example's pgwork.config.*): scripts and tests run an example in the
 * modes its adapter supports, never a hand-kept list.
 */
export async function exampleModes(dir) {
  const config = readdirSync(dir).find((file) => /^pgwork\.config\.c?js$/.test(file));
  if (!config) throw new Error(`${dir} has no pgwork.config.js or .cjs naming its adapter`);
  const { adapter } = createRequire(join(dir, 'package.json'))(join(dir, config));
  const described = await core.describeAdapter(core.loadAdapter(adapter, { rootDir: dir }));
  return { isolation: [...described.isolation], reset: [...described.reset] };
}

// `node scripts/core.mjs modes <dir>...`: the same as JSON, for tests outside these scripts.
if (process.argv[1] === import.meta.filename && process.argv[2] === 'modes') {
  const dirs = process.argv.slice(3);
  const modes = await Promise.all(dirs.map((dir) => exampleModes(resolve(dir))));
  console.log(JSON.stringify(Object.fromEntries(dirs.map((dir, i) => [dir, modes[i]]))));
}
