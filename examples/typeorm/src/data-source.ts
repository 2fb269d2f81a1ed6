import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { Click, Url } from './entities';

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
export const AppDataSource = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  entities: [Url, Click],
  extra: { max: 5 },
});
