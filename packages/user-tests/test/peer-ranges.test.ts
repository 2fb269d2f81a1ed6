import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outsideProject, outsiderEnv, publishedPackages, ROOT } from './packages';

// Every adapter's packed tarball, installed with plain `npm install` into a project
// outside the workspace next to its tools at two versions: the floor of each peer
// range (`>=X`) and the version its example runs. npm must resolve without a peer
// conflict (no --force, no --legacy-peer-deps) and `npm ls` must find every peer
// satisfied. Which tools, and which versions, come from the packages and examples
// themselves: nothing here names an adapter. Install scripts are not run (Prisma's
// would download engines); what the tools do is tested by each adapter's own tests.

interface Manifest {
  name: string;
  peerDependencies?: Record<string, string>;
}

const manifests = publishedPackages().map(({ dir }) => ({
  dir,
  manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
}));
const toolPeers = (manifest: Manifest) =>
  Object.entries(manifest.peerDependencies ?? {}).filter(([name]) => name !== '@pgwork/core');

/** The lowest version a peer range allows: its `>=X`. */
function floorOf(adapter: string, tool: string, range: string): string {
  const floor = /^>=\s*(\d+\.\d+\.\d+)\b/.exec(range)?.[1];
  if (!floor) throw new Error(`${adapter}'s peer range for ${tool} (${range}) does not start with >=X.Y.Z`);
  return floor;
}

/** The version of `tool` the adapter's example has installed (examples/<the adapter's folder>), if any. */
function exampleVersion(dir: string, tool: string): string | undefined {
  const installed = join(ROOT, 'examples', dir.split('/').pop()!, 'node_modules', tool, 'package.json');
  return existsSync(installed)
    ? (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version
    : undefined;
}

const adapters = manifests.filter(({ manifest }) => toolPeers(manifest).length > 0);
const { dir: project, tarballs, write } = outsideProject('pgwork-peers-');

test('every adapter with a tool peer has an example that installs it', () => {
  const without = adapters.flatMap(({ dir, manifest }) =>
    toolPeers(manifest)
      .filter(([tool]) => !exampleVersion(dir, tool))
      .map(([tool]) => `${manifest.name}: ${tool}`),
  );
  // Optional peers an example does without are allowed; required ones must be tested there.
  const optional = adapters.flatMap(({ manifest }) =>
    Object.keys((manifest as { peerDependenciesMeta?: object }).peerDependenciesMeta ?? {}).map(
      (tool) => `${manifest.name}: ${tool}`,
    ),
  );
  expect(without.filter((entry) => !optional.includes(entry))).toEqual([]);
});

test.each([
  ['the floor of every peer range', (dir: string, tool: string, range: string) => floorOf(dir, tool, range)],
  ['the versions the examples run', (dir: string, tool: string) => exampleVersion(dir, tool)],
] as const)('npm installs every adapter next to its tools at %s, every peer satisfied', (label, version) => {
  const folder = label.startsWith('the floor') ? 'floor' : 'current';
  write(`${folder}/package.json`, JSON.stringify({ name: `peers-${folder}`, private: true }, null, 2));
  const specs = adapters.flatMap(({ dir, manifest }) => [
    tarballs[manifest.name]!,
    ...toolPeers(manifest).flatMap(([tool, range]) => {
      const chosen = version(dir, tool, range);
      return chosen ? [`${tool}@${chosen}`] : [];
    }),
  ]);
  const options = { cwd: join(project, folder), env: outsiderEnv(), encoding: 'utf8' as const, stdio: 'pipe' as const };
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--save-dev', tarballs['@pgwork/core']!, ...specs],
    options,
  );
  // npm ls exits non-zero on a missing or invalid peer; its JSON names the problems.
  const listed = JSON.parse(execFileSync('npm', ['ls', '--json', '--depth=0'], options)) as { problems?: string[] };
  expect(listed.problems ?? []).toEqual([]);
});
