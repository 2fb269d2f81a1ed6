import { MikroORM } from '@mikro-orm/postgresql';
import config from './mikro-orm.config';

// Initialised once, on first use: the app's functions are async, and a test file that never
// touches the database opens no pool.
let orm: Promise<MikroORM> | undefined;

export const getOrm = () => (orm ??= MikroORM.init(config));

/** A fresh EntityManager per call: MikroORM's identity map must not be shared between requests. */
export const em = async () => (await getOrm()).em.fork();

export async function close(): Promise<void> {
  if (orm) await (await orm).close();
  orm = undefined;
}
