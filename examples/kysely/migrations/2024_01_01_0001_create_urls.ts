import { type Kysely, sql } from 'kysely';

// Kysely's migrations take the database untyped (its docs write Kysely<any>): they run
// against the schema as it was then, not the app's Database interface.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('urls')
    .addColumn('id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('slug', 'text', (col) => col.notNull().unique())
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('urls').execute();
}
