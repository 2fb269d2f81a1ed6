// What the tests of pure functions share: an adapter reference to pass as an option, and a PgworkError's code.
import { adapterHelper } from '../src/shared/adapter';
import { PgworkError } from '../src/shared/errors';

export const adapter = adapterHelper<{ dir: string }>('/abs/adapter.js', 'raw', ['dir'])({ dir: 'migrations' });

/** The code of the PgworkError `fn` throws, whose message is one line; fails the test when it throws anything else. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PgworkError);
    expect((error as Error).message).not.toContain('\n');
    return (error as PgworkError).code;
  }
  throw new Error('expected a PgworkError');
}
