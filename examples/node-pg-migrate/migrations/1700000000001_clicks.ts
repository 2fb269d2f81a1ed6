// node-pg-migrate 8+ ships ES modules only: this CommonJS project imports its types as an ES module would.
type MigrationBuilder = import('node-pg-migrate', { with: { 'resolution-mode': 'import' }}).MigrationBuilder;

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.createTable('clicks', {
    id: { type: 'integer', primaryKey: true, sequenceGenerated: { precedence: 'ALWAYS' } },
    url_id: { type: 'integer', notNull: true, references: 'urls', onDelete: 'CASCADE' },
    clicked_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('clicks', 'url_id');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.dropTable('clicks');
}
