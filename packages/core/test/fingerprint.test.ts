import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  globFiles,
  hashDirectory,
  hashFiles,
  hashParts,
  requireDirectory,
  requireFile,
} from '../src/shared/fingerprint';
import { code } from './unit-helpers';

describe('hashing', () => {
  it('length-prefixes parts so different splits never collide', () => {
    expect(hashParts(['ab', 'c'])).not.toBe(hashParts(['a', 'bc']));
    expect(hashParts(['a', 'b'])).toBe(hashParts(['a', 'b']));
  });

  it('hashes files by name relative to the base and content, wherever the project lives', () => {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-hash-'));
    try {
      mkdirSync(join(root, 'db'));
      writeFileSync(join(root, 'db/a.sql'), 'CREATE TABLE a ();');
      writeFileSync(join(root, 'db/b.sql'), 'CREATE TABLE b ();');
      const relative = hashFiles(root, ['db/b.sql', 'db/a.sql']);
      expect(hashFiles(root, [join(root, 'db/a.sql'), join(root, 'db/b.sql')])).toBe(relative);
      expect(hashDirectory(join(root, 'db'))).not.toBe(relative); // names are part of it: a.sql is not db/a.sql
      const moved = `${root}-moved`;
      cpSync(root, moved, { recursive: true });
      expect(hashFiles(moved, [join(moved, 'db/a.sql'), 'db/b.sql'])).toBe(relative);
      rmSync(moved, { recursive: true });
      writeFileSync(join(root, 'db/b.sql'), 'CREATE TABLE b (id int);');
      expect(hashFiles(root, ['db/a.sql', 'db/b.sql'])).not.toBe(relative);
      expect(requireFile(join(root, 'db/a.sql'), 'tool({ config })')).toBe(join(root, 'db/a.sql'));
      expect(() => requireFile(join(root, 'db'), 'tool({ config })')).toThrow(
        `pgwork: tool({ config }) points at ${join(root, 'db')}, which is not a file; create it or fix the tool({ config }) option.`,
      );
      expect(() => requireDirectory(join(root, 'db/a.sql'), 'tool({ migrations })')).toThrow(
        /which is not a directory/,
      );
      expect(code(() => requireFile(join(root, 'missing.ts'), 'tool({ config })'))).toBe('INVALID_OPTION');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('globFiles', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgwork-glob-'));
    for (const file of [
      'schema/a.ts',
      'schema/b.ts',
      'schema/nested/c.ts',
      'schema/readme.md',
      'one.ts',
      'x.y.ts',
      'xzy.ts',
    ]) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), file);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rel = (files: string[]) => files.map((file) => file.slice(dir.length + 1));

  it('matches *, ** and ? and treats dots literally', () => {
    expect(rel(globFiles(dir, ['schema/*.ts']))).toEqual(['schema/a.ts', 'schema/b.ts']);
    expect(rel(globFiles(dir, ['schema/**/*.ts']))).toEqual(['schema/a.ts', 'schema/b.ts', 'schema/nested/c.ts']);
    expect(rel(globFiles(dir, ['x.y.ts']))).toEqual(['x.y.ts']);
    expect(rel(globFiles(dir, ['x?y.ts']))).toEqual(['x.y.ts', 'xzy.ts']);
  });

  it('takes plain files and whole directories, skips what does not exist, and de-duplicates', () => {
    expect(rel(globFiles(dir, ['./one.ts', 'schema/nested', 'missing.ts', 'missing/*.ts', 'one.ts']))).toEqual([
      'one.ts',
      'schema/nested/c.ts',
    ]);
  });
});
