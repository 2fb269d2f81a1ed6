// `prisma generate` on a fresh clone without internet beyond the npm registry.
// The CLI downloads its schema-engine binary at start unless one is named, but
// generate never runs that binary: any existing file satisfies the check.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
  // prisma.config.ts reads env('DATABASE_URL'); generate does not connect.
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://localhost/unused',
};
const result = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
