import { EntitySchema, type OptionalProps } from '@mikro-orm/core';

// EntitySchema: plain objects, no decorators or reflect-metadata.
export interface Url {
  id: number;
  slug: string;
  target: string;
  createdAt: Date;
  /** Filled by the database's default. */
  [OptionalProps]?: 'createdAt';
}

export interface Click {
  id: number;
  url: Url;
  clickedAt: Date;
  [OptionalProps]?: 'clickedAt';
}

export const UrlSchema = new EntitySchema<Url>({
  name: 'Url',
  tableName: 'urls',
  properties: {
    id: { type: 'integer', primary: true, generated: 'by default as identity' },
    slug: { type: 'text', unique: true },
    target: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at', defaultRaw: 'now()' },
  },
});

export const ClickSchema = new EntitySchema<Click>({
  name: 'Click',
  tableName: 'clicks',
  properties: {
    id: { type: 'integer', primary: true, generated: 'by default as identity' },
    url: {
      kind: 'm:1',
      entity: () => UrlSchema,
      fieldName: 'url_id',
      deleteRule: 'cascade',
      updateRule: 'no action',
      index: true,
    },
    clickedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'clicked_at', defaultRaw: 'now()' },
  },
});
