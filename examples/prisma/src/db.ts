import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set');
// Prisma qualifies every table with its schema: honour ?schema= (pgwork's schema isolation sets it).
const schema = new URL(url).searchParams.get('schema') ?? undefined;
export const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 5 }, { schema }) });
