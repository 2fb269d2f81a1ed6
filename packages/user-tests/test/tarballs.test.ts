import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { packAll, ROOT, tarballFile, tarballFiles } from './packages';

const packed = packAll();
const bin = (name: string) => join(__dirname, '../node_modules/.bin', name);

describe.each(packed.map((pkg) => [pkg.name, pkg] as const))('%s as packed', (_, pkg) => {
  const files = tarballFiles(pkg.tarball);
  const manifest = JSON.parse(tarballFile(pkg.tarball, 'package.json'));

  it('ships LICENSE, README, compiled code and types, and no test files', () => {
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']),
    );
    expect(files.filter((file) => /(^|\/)test\/|\.test\.[jt]s$/.test(file))).toEqual([]);
  });

  it('has no source map pointing at a file it does not ship', () => {
    const missing = files
      .filter((file) => file.endsWith('.map'))
      .flatMap((map) =>
        (JSON.parse(tarballFile(pkg.tarball, map)).sources as string[]).map((source) =>
          posix.join(posix.dirname(map), source),
        ),
      )
      .filter((source) => !files.includes(source));
    expect(missing).toEqual([]);
  });

  it('declares node, a license, and no workspace: range', () => {
    expect(manifest).toMatchObject({ license: 'MIT', engines: { node: '>=20' } });
    expect(JSON.stringify(manifest)).not.toContain('workspace:');
    if (pkg.name !== '@pgwork/core') {
      // The user's one copy of core serves every adapter: a peer, any core of this major (0.x: from 0.1 until 1.0).
      expect(manifest.peerDependencies['@pgwork/core']).toBe('>=0.1.0 <1');
      expect(manifest.dependencies?.['@pgwork/core']).toBeUndefined();
    }
  });

  it('passes publint and arethetypeswrong without errors', () => {
    // Both exit non-zero on an error; the output names it.
    execFileSync(bin('publint'), [pkg.dir], { encoding: 'utf8' });
    // An entry that is an ES module by design (node:test's --import module) is checked as one; the rest as strictly as attw can.
    const exports = (manifest.exports ?? {}) as Record<string, unknown>;
    const esmOnly = Object.keys(exports).filter((entry) => String(exports[entry]).endsWith('.mjs'));
    const excluded = esmOnly.length ? ['--exclude-entrypoints', ...esmOnly] : [];
    execFileSync(bin('attw'), [pkg.tarball, ...excluded], { encoding: 'utf8' });
    if (esmOnly.length)
      execFileSync(bin('attw'), [pkg.tarball, '--entrypoints', ...esmOnly, '--profile', 'esm-only'], {
        encoding: 'utf8',
      });
  });
});

// Packages are found by folder; two places must still name each one, and this says which is missing.
describe('every published package', () => {
  const names = packed.map((pkg) => pkg.name);

  it('is a devDependency of user-tests, so turbo builds it before these tests pack it', () => {
    const manifest = require('../package.json') as { devDependencies: Record<string, string> };
    const missing = names.filter((name) => manifest.devDependencies[name] !== 'workspace:*');
    expect({ 'add to packages/user-tests/package.json devDependencies as "workspace:*"': missing }).toEqual({
      'add to packages/user-tests/package.json devDependencies as "workspace:*"': [],
    });
  });

  it("has a row in the README's Packages table", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('\n## Packages'));
    const missing = names.filter((name) => !table.includes(`| [\`${name}\`]`));
    expect({ 'add a row to README.md ## Packages': missing }).toEqual({ 'add a row to README.md ## Packages': [] });
  });
});
