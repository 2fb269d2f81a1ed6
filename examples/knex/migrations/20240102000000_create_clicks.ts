import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('clicks', (table) => {
    table.specificType('id', 'integer generated always as identity').primary();
    table.integer('url_id').notNullable().references('id').inTable('urls').onDelete('CASCADE').index();
    table.timestamp('clicked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('clicks');
}
