import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ChildError, childFile, runChild } from '../shared/child';
import { withClient } from '../shared/connection';
import { PgworkError, describeDatabaseError } from '../shared/errors';
import { hashParts } from '../shared/fingerprint';

/**
 * Seed data, written once into the template after migrate, so every worker
 * database starts with it: a `.sql` file, or a module (JavaScript or
 * TypeScript) whose default export is `async ({ client, url, database }) => {}`.
 */
export interface Seed {
  /** Absolute path of the seed file. */
  readonly path: string;
  /** Part of the template's fingerprint: editing the seed builds a new template. */
  readonly fingerprint: string;
  run(target: { url: string; appUrl?: string; database: string }, source: string): Promise<void>;
}

export function loadSeed(file: string, rootDir: string): Seed {
  const path = resolve(rootDir, file);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch {
    throw new PgworkError(
      'INVALID_OPTION',
      `the seed option points at ${path}, which cannot be read; fix the path (relative to the project's root, ${rootDir}).`,
    );
  }
  const isSql = path.endsWith('.sql');
  return {
    path,
    fingerprint: hashParts(['seed', path.slice(rootDir.length), content]),
    async run(target, source) {
      if (isSql) {
        const sql = content.toString('utf8');
        await withClient(target.url, { source }, async (client) => {
          try {
            await client.query(sql);
          } catch (error) {
            throw new PgworkError('MIGRATION_FAILED', `seed ${file} failed: ${describeDatabaseError(error, sql)}`, {
              cause: error,
            });
          }
        });
        return;
      }
      // The seed module may connect with a driver of its own (postgres.js): the URL every driver reads.
      const url = target.appUrl ?? target.url;
      const request = { module: path, pg: require.resolve('pg'), url, database: target.database };
      const loads = { module: path, option: 'the seed option' };
      await runChild(childFile(__dirname, 'seed-child'), request, { cwd: rootDir, loads }).catch((error: unknown) => {
        if (!(error instanceof ChildError)) throw error;
        throw new PgworkError('MIGRATION_FAILED', `seed ${file} failed: ${error.message}`);
      });
    },
  };
}
