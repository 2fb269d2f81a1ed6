import { entryPoints, withPgwork } from '../src/jest/config';
import { adapter } from './unit-helpers';

describe('withPgwork', () => {
  it('adds the four entry points and keeps the user config', () => {
    const config = withPgwork(
      { maxWorkers: 4, setupFiles: ['./mine.js'], globals: { x: 1 } } as Record<string, unknown>,
      { adapter },
    );
    expect(config).toMatchObject({
      maxWorkers: 4,
      globalSetup: entryPoints.globalSetup,
      globalTeardown: entryPoints.globalTeardown,
      setupFiles: [entryPoints.setupFiles, './mine.js'],
      setupFilesAfterEnv: [entryPoints.setupFilesAfterEnv],
      globals: { x: 1, pgwork: { adapter } },
    });
  });

  it("keeps the project's own globalSetup and globalTeardown, to run after and before pgwork's", () => {
    const config = withPgwork({ globalSetup: './mine.ts', globalTeardown: '<rootDir>/down.js' }, { adapter });
    expect(config.globalSetup).toBe(entryPoints.globalSetup);
    expect((config as Record<string, unknown>).globals).toMatchObject({
      pgworkBinding: { globalSetup: './mine.ts', globalTeardown: '<rootDir>/down.js' },
    });
  });

  it('refuses to wrap twice, or to be handed its own hooks', () => {
    expect(() => withPgwork(withPgwork({}, { adapter }), { adapter })).toThrow(/already wrapped by withPgwork/);
    expect(() => withPgwork({ globalSetup: '@pgwork/core/jest/global-setup' }, { adapter })).toThrow(
      /globalSetup is already pgwork's; withPgwork adds it/,
    );
  });

  it('wraps every inline project, each keyed by its displayName, with hook files of its own', () => {
    const config = withPgwork(
      { projects: [{ displayName: 'api' }, { displayName: { name: 'jobs' } }, {}] },
      { adapter },
    ) as { projects: Array<Record<string, unknown>> };
    const keys = config.projects.map(
      (project) => (project.globals as { pgworkBinding: { project: string } }).pgworkBinding.project,
    );
    expect(keys).toEqual(['api', 'jobs', 'project3']);
    const setups = new Set(config.projects.map((project) => project.globalSetup));
    expect(setups.size).toBe(3);
    for (const project of config.projects)
      expect(require(project.globalSetup as string)).toBe(require(entryPoints.globalSetup));
  });

  it('refuses projects it cannot wrap', () => {
    expect(() => withPgwork({ projects: ['<rootDir>/api'] }, { adapter })).toThrow(
      /projects\[0\] is "<rootDir>\/api", a path pgwork cannot reach from here; wrap that project's own config/,
    );
    expect(() => withPgwork({ projects: [{ displayName: 'a' }, { displayName: 'a' }] }, { adapter })).toThrow(
      /two projects are named "a"; give each project its own displayName/,
    );
    // Their runs would reach the workers in one variable, PGWORK_RUN_A_B.
    for (const twin of ['A-B', 'a b'])
      expect(() => withPgwork({ projects: [{ displayName: 'a_b' }, { displayName: twin }] }, { adapter })).toThrow(
        `pgwork: projects "a_b" and "${twin}" would share one pgwork run; give each project its own displayName.`,
      );
  });

  it('validates options at config time', () => {
    expect(() => withPgwork({}, { adapter, baseName: 'no-dashes' })).toThrow(/not a valid base name/);
  });
});
