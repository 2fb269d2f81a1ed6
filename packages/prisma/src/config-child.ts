// Reads prisma.config.ts with Prisma's own loader, in a child process (it
// needs a real dynamic import(), which a Jest sandbox does not offer).
import { createRequire } from 'node:module';
import { childMain } from '@pgwork/core/adapter';

export interface ConfigAnswer {
  schema?: string;
  migrations?: string;
}

interface LoadedConfig {
  config?: { schema?: string; migrations?: { path?: string } };
  error?: { _tag?: string; error?: { message?: string } };
}

childMain<{ prismaDir: string; rootDir: string; configFile: string }, ConfigAnswer>(
  async ({ prismaDir, rootDir, configFile }) => {
    const { loadConfigFromFile } = createRequire(`${prismaDir}/package.json`)('@prisma/config');
    const loaded: LoadedConfig = await loadConfigFromFile({ configFile, configRoot: rootDir });
    if (loaded.error) throw new Error(loaded.error.error?.message ?? loaded.error._tag ?? 'unknown error');
    return { schema: loaded.config?.schema, migrations: loaded.config?.migrations?.path };
  },
);
