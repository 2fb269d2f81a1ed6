import { adapterHelper } from '../src/shared/adapter';
import { code } from './unit-helpers';

describe('the adapter config helper', () => {
  it("refuses, when the config is read, a helper's unknown and retired options, naming what to use", () => {
    const helper = adapterHelper<{ config?: string; migrations?: string } | undefined>(
      '/abs/tool.js',
      'tool',
      ['config', 'migrations'],
      { mode: 'remove it: the tool always applies migrations itself' },
    );
    expect(helper()).toEqual({ module: '/abs/tool.js', options: {} });
    expect(helper({ migrations: 'db', config: undefined })).toEqual({
      module: '/abs/tool.js',
      options: { migrations: 'db', config: undefined },
    });
    expect(Object.isFrozen(helper({ config: 'c' }))).toBe(true);
    const refusals: [unknown, string][] = [
      [{ migration: 'db' }, 'pgwork: tool({ migration }) is not an option; use config or migrations.'],
      [{ a: 1, b: 2 }, 'pgwork: tool({ a, b }) are not options; use config or migrations.'],
      [
        { mode: 'cli' },
        'pgwork: tool({ mode }) is no longer an option; remove it: the tool always applies migrations itself.',
      ],
      ['db', 'pgwork: tool("db") takes an options object: tool({ config: ... }).'],
      [['db'], 'pgwork: tool(["db"]) takes an options object: tool({ config: ... }).'],
    ];
    for (const [options, message] of refusals) {
      expect(() => helper(options as never)).toThrow(message);
      expect(code(() => helper(options as never))).toBe('INVALID_OPTION');
    }
  });
});
