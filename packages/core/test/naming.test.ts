import {
  assertDatabaseName,
  databaseOfUrl,
  databaseUrl,
  newRunId,
  parseRunObjectName,
  sharedDatabaseName,
  templateBaseName,
  templateDatabaseName,
  validateBaseName,
  workerDatabaseName,
} from '../src/shared/naming';
import { code } from './unit-helpers';

describe('naming', () => {
  const run = newRunId();

  it('builds worker and template names from the base name', () => {
    expect(workerDatabaseName('app_test', run, 4)).toBe(`app_test_${run}_w4`);
    expect(templateDatabaseName('app_test', 'ab'.repeat(32))).toBe(`app_test_tpl_${'ab'.repeat(8)}`);
  });

  it('reads back what the builders made, and nothing else', () => {
    expect(parseRunObjectName(workerDatabaseName('app_w2', run, 12))).toEqual({ baseName: 'app_w2', worker: 12 });
    expect(parseRunObjectName(sharedDatabaseName('app', run))).toEqual({ baseName: 'app', worker: undefined });
    expect(templateBaseName(templateDatabaseName('app_tpl', 'c'.repeat(64)))).toBe('app_tpl');
    for (const other of ['app', 'app_w1', `app_${run}_x1`, 'app_ABCD1234_w1', `app_tpl_${'c'.repeat(15)}`]) {
      expect(parseRunObjectName(other)).toBeUndefined();
      expect(templateBaseName(other)).toBeUndefined();
    }
    expect(parseRunObjectName(templateDatabaseName('app', 'c'.repeat(64)))).toBeUndefined();
    expect(templateBaseName(workerDatabaseName('app', run, 1))).toBeUndefined();
  });

  it('makes run ids that differ', () => {
    expect(new Set(Array.from({ length: 50 }, newRunId)).size).toBe(50);
    expect(run).toMatch(/^[a-z0-9]{8}$/);
  });

  it.each(['', 'App', '1abc', 'a-b', 'a"b', 'x'.repeat(41), '1"; DROP DATABASE x; --', 'ünï'])(
    'rejects base name %j',
    (name) => {
      expect(code(() => validateBaseName(name))).toBe('INVALID_NAME');
    },
  );

  it('keeps every generated name within 63 bytes', () => {
    const base = 'x'.repeat(40);
    expect(Buffer.byteLength(workerDatabaseName(base, run, 999999))).toBeLessThanOrEqual(63);
    expect(Buffer.byteLength(templateDatabaseName(base, 'f'.repeat(64)))).toBeLessThanOrEqual(63);
    expect(code(() => assertDatabaseName('a'.repeat(64)))).toBe('INVALID_NAME');
  });

  it('rewrites a URL to another database, keeping credentials and parameters', () => {
    const url = databaseUrl('postgres://u:p%40ss@db.example:6543/app_dev?sslmode=require', 'app_x_w1');
    expect(url).toBe('postgres://u:p%40ss@db.example:6543/app_x_w1?sslmode=require');
    expect(databaseOfUrl(url)).toBe('app_x_w1');
    expect(databaseOfUrl('postgres://u@h:1')).toBeUndefined();
  });
});
