import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('urls', (table) => {
    table.specificType('id', 'integer generated always as identity').primary();
    table.text('slug').notNullable().unique();
    table.text('target').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('urls');
}
