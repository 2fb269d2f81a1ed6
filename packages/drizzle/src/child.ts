// Runs the project's own code in a child process (the config and schema files are
// TypeScript; the config may read process.env): loads the drizzle config, or
// generates the schema's CREATE statements with drizzle-kit's own API.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { childMain, pickExport } from '@pgwork/core/adapter';
import type { Config } from 'drizzle-kit';

type Statements = { action: 'statements'; rootDir: string; files: string[]; movable: boolean };
export type ChildRequest =
  | { action: 'config'; config: string }
  | (Statements & Pick<Config, 'schemaFilter' | 'casing'>);

childMain<ChildRequest, unknown>(async (request) => {
  if (request.action === 'config') {
    return pickExport(require(request.config), {
      accepts: (value): value is object => typeof value === 'object' && value !== null && 'dialect' in value,
      what: 'drizzle config',
      usual: ['default'],
      option: 'export default',
      example: "export default defineConfig({ dialect: 'postgresql', schema: './src/schema.ts' })",
    });
  }
  const { rootDir, files, casing, movable } = request;
  // push's default schemaFilter is "public".
  const schemaFilter = request.schemaFilter === undefined ? ['public'] : [request.schemaFilter].flat();
  const kit = createRequire(join(rootDir, 'package.json'))('drizzle-kit/api');
  const imports = Object.assign({}, ...files.map((file) => require(file)));
  const current = kit.generateDrizzleJson(imports, undefined, schemaFilter, casing);
  const objects: { schema: string }[] = [...Object.values(current.tables), ...Object.values(current.enums)] as never;
  const other = [...Object.keys(current.schemas), ...objects.map((o) => o.schema)].find((s) => s && s !== 'public');
  if (movable && other) {
    throw new Error(
      `the schema puts objects in pgSchema("${other}"), which Drizzle writes into every query, so they cannot move into a worker's schema; use isolation "database"`,
    );
  }
  return kit.generateMigration(kit.generateDrizzleJson({}), current);
});
