import { stableBaseName } from '../src/testing/server';

describe('test helpers', () => {
  it('derives a valid base name from a suite name, the same on every run', () => {
    expect(stableBaseName('conf_se', 'typeorm (migrations)')).toBe('conf_se_typeorm_migrations');
    expect(stableBaseName('conf_se', 'Prisma 6')).toBe('conf_se_prisma_6');
    const long = stableBaseName('conf_se', 'a suite with a very long name that goes on and on');
    expect(long).toMatch(/^conf_se_a_suite_with_a_very_long_name_th$/);
    expect(long).toHaveLength(40);
    // Cut where a separator falls: never a trailing underscore.
    expect(stableBaseName('conf_se', 'a suite with a very long namesz x')).toBe(
      'conf_se_a_suite_with_a_very_long_namesz',
    );
  });
});
