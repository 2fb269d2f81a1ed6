import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withClient } from './connection';
import { PgworkError, describeDatabaseError } from './errors';
import { hashParts } from './fingerprint';
import { childAnswer, CHILD_ANSWER, runProcess, typescriptLoaderArgs } from './process';

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
  run(target: { url: string; database: string }, source: string): Promise<void>;
}

// Runs the user's seed module in its own process (TypeScript through the project's loader).
const RUN_SEED = `
const [modulePath, pgPath, url, database] = process.argv.slice(1);
const { Client } = require(pgPath);
(async () => {
  const loaded = require(modulePath);
  const seed = typeof loaded === 'function' ? loaded : loaded.default ?? loaded.seed;
  if (typeof seed !== 'function') throw new Error('the module exports no seed function (export default async ({ client }) => { ... })');
  const client = new Client({ connectionString: url, application_name: 'pgwork' });
  await client.connect();
  try {
    await seed({ client, url, database });
  } finally {
    await client.end();
  }
  process.stdout.write('\\n${CHILD_ANSWER}{}\\n');
})().catch((error) => {
  process.stdout.write('\\n${CHILD_ANSWER}' + JSON.stringify({ error: String(error && error.message || error).split('\\n')[0] }) + '\\n');
  process.exitCode = 1;
});`;

export function loadSeed(file: string, rootDir: string): Seed {
  const path = resolve(rootDir, file);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch {
    throw new PgworkError(
      'INVALID_OPTION',
      `the seed option points at ${path}, which cannot be read; fix the path (relative to Jest's rootDir).`,
    );
  }
  const isSql = path.endsWith('.sql');
  return {
    path,
    fingerprint: hashParts(['seed', path.slice(rootDir.length), content]),
    async run(target, source) {
      if (isSql) {
        await withClient(target.url, { source }, async (client) => {
          try {
            await client.query(content.toString('utf8'));
          } catch (error) {
            throw new PgworkError('MIGRATION_FAILED', `seed ${file} failed: ${describeDatabaseError(error)}`, {
              cause: error,
            });
          }
        });
        return;
      }
      const args = [
        ...typescriptLoaderArgs(path, [rootDir], 'the seed option'),
        '-e',
        RUN_SEED,
        path,
        require.resolve('pg'),
        target.url,
        target.database,
      ];
      const answer = childAnswer<{ error?: string }>(await runProcess(process.execPath, args, { cwd: rootDir }));
      if ('error' in answer && answer.error)
        throw new PgworkError('MIGRATION_FAILED', `seed ${file} failed: ${answer.error}`);
    },
  };
}
