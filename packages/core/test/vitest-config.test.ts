import { withPgwork as withPgworkForVitest, type VitestConfigLike } from '../src/vitest/config';
import { vitestEntryPoints } from '../src/vitest/wiring';
import { vitestWorker } from '../src/vitest/worker';

describe('withPgwork for Vitest', () => {
  const adapter = { module: '/x/adapter.js', options: {} };

  it("adds the globalSetup and setup file first, keeps the user's, and hands the options over through provide", () => {
    const wrapped = withPgworkForVitest(
      { resolve: { alias: {} }, test: { globalSetup: './mine.ts', setupFiles: ['./a.ts'], provide: { other: 1 } } },
      { adapter, isolation: 'schema' },
    );
    expect(wrapped.resolve).toEqual({ alias: {} });
    expect(wrapped.test?.globalSetup).toEqual([vitestEntryPoints.globalSetup, './mine.ts']);
    expect(wrapped.test?.setupFiles).toEqual([vitestEntryPoints.setupFiles, './a.ts']);
    expect(wrapped.test?.provide).toEqual({ other: 1, pgworkOptions: { adapter, isolation: 'schema' } });
    expect((wrapped as VitestConfigLike).test?.forceRerunTriggers).toEqual(
      expect.arrayContaining(['**/package.json/**', '**/*.sql']),
    );
    for (const file of Object.values(vitestEntryPoints)) expect(file).toMatch(/\.mjs$/);
  });

  it('refuses a bad option at config time, a second wrap, and projects it cannot wrap', () => {
    expect(() => withPgworkForVitest({}, { adapter, isolation: 'tables' as never })).toThrow(/isolation "tables"/);
    const once = withPgworkForVitest({}, { adapter });
    expect(() => withPgworkForVitest(once, { adapter })).toThrow(/already wrapped by withPgwork; wrap it once/);
    expect(() => withPgworkForVitest({ test: { projects: ['packages/*'] } }, { adapter })).toThrow(
      /test\.projects\[0\] is not an inline project with a name/,
    );
    const twins = { test: { projects: [{ test: { name: 'a' } }, { test: { name: 'a' } }] } };
    expect(() => withPgworkForVitest(twins, { adapter })).toThrow(/two projects are named "a"/);
  });

  it('a worker given no run (the setup file without the globalSetup) names the fix', () => {
    expect(() => vitestWorker(undefined, undefined)).toThrow(
      "pgwork: this Vitest worker was given no pgwork run; wrap your Vitest config with withPgwork(...) from '@pgwork/core/vitest' so pgwork's globalSetup runs.",
    );
  });

  it('wraps every inline project, each with its own options for a run of its own', () => {
    const wrapped = withPgworkForVitest(
      { test: { projects: [{ test: { name: 'api' } }, { test: { name: { label: 'web' } } }] } },
      { adapter },
    );
    const projects = (wrapped as VitestConfigLike).test?.projects as unknown as Array<{
      test: { globalSetup: string[]; provide: object };
    }>;
    expect(projects.map((p) => p.test.globalSetup[0])).toEqual([
      vitestEntryPoints.globalSetup,
      vitestEntryPoints.globalSetup,
    ]);
    expect(projects.map((p) => p.test.provide)).toEqual([
      { pgworkOptions: { adapter } },
      { pgworkOptions: { adapter } },
    ]);
  });
});
