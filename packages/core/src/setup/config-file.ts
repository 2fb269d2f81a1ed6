import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PgworkError } from '../shared/errors';

// pgwork's own config file, for runners whose config pgwork does not wrap
// (node:test, Mocha, Bun) and for `pgwork run`: the options withPgwork takes,
// as the default export (or module.exports, or JSON).

export const PGWORK_CONFIG_FILES = ['pgwork.config.mjs', 'pgwork.config.js', 'pgwork.config.cjs', 'pgwork.config.json'];

/** The pgwork config in `dir`, if there is one. */
export function findPgworkConfig(dir: string): string | undefined {
  return PGWORK_CONFIG_FILES.map((name) => join(dir, name)).find(existsSync);
}

/** Whether `file` is named as a pgwork config is. */
export function isPgworkConfig(file: string): boolean {
  return PGWORK_CONFIG_FILES.some((name) => file.endsWith(name));
}

/** The options a pgwork config holds. */
export async function readPgworkConfig(file: string): Promise<unknown> {
  try {
    if (file.endsWith('.json')) return JSON.parse(readFileSync(file, 'utf8'));
    const loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
    return loaded.default ?? loaded;
  } catch (error) {
    const reason = String((error as Error)?.message ?? error).split('\n')[0];
    throw new PgworkError(
      'INVALID_OPTION',
      `cannot read ${file}: ${reason}; it must export pgwork's options (export default { adapter: ... }).`,
      {
        cause: error,
      },
    );
  }
}
