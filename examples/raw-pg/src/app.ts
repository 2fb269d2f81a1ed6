import type { UrlShortenerApp } from '@pgwork/parallel-suite';
import { sqlUrlShortener } from '@pgwork/parallel-suite/sql-app';
import { pool } from './db';

// The SQL migration files build the schema; the app itself is plain SQL on its pg.Pool.
export const app: UrlShortenerApp = sqlUrlShortener(pool);
