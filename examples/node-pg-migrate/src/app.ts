import type { UrlShortenerApp } from '@pgwork/parallel-suite';
import { sqlUrlShortener } from '@pgwork/parallel-suite/sql-app';
import { pool } from './db';

// node-pg-migrate builds the schema; the app itself is plain SQL on its pg.Pool.
export const app: UrlShortenerApp = sqlUrlShortener(pool);
