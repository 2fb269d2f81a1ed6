// Generates the CREATE statements for the app's Drizzle schema with
// drizzle-kit's own API, in a child process (the schema files are TypeScript).
// Under schema isolation the adapter runs them in the worker's schema.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { childMain } from '@pgwork/core/adapter';

export interface SchemaRequest {
  rootDir: string;
  files: string[];
  casing?: string;
}

interface DrizzleJson {
  tables: Record<string, { schema: string }>;
  schemas: Record<string, string>;
  enums: Record<string, { schema: string }>;
}

childMain<SchemaRequest, string[]>(async ({ rootDir, files, casing }) => {
  const kit = createRequire(join(rootDir, 'package.json'))('drizzle-kit/api');
  const imports = Object.assign({}, ...files.map((file) => require(file)));
  const empty: DrizzleJson = kit.generateDrizzleJson({});
  const current: DrizzleJson = kit.generateDrizzleJson(imports, undefined, undefined, casing);
  const named = [
    ...Object.keys(current.schemas),
    ...Object.values(current.tables).map((t) => t.schema),
    ...Object.values(current.enums).map((e) => e.schema),
  ].filter((schema) => schema && schema !== 'public');
  if (named.length) {
    throw new Error(
      `the schema puts objects in pgSchema("${named[0]}"), which Drizzle writes into every query, so they cannot move into a worker's schema; use isolation "database"`,
    );
  }
  return kit.generateMigration(empty, current);
});
