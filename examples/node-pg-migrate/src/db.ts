import { Pool } from 'pg';

// Read at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
export const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
