import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const urls = pgTable('urls', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  slug: text('slug').notNull().unique(),
  target: text('target').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const clicks = pgTable(
  'clicks',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    urlId: integer('url_id')
      .notNull()
      .references(() => urls.id, { onDelete: 'cascade' }),
    clickedAt: timestamp('clicked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('clicks_url_id_idx').on(table.urlId)],
);
