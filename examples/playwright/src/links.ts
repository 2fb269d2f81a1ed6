import { DatabaseError, type Pool } from 'pg';

export interface Link {
  id: number;
  slug: string;
  target: string;
  clicks: number;
  createdAt: Date;
}

interface LinkRow {
  id: number;
  slug: string;
  target: string;
  clicks: number;
  created_at: Date;
}

/** A slug already taken: the unique constraint on urls.slug said so. */
export class DuplicateSlugError extends Error {
  constructor(readonly slug: string) {
    super(`the slug "${slug}" is already taken`);
  }
}

const toLink = (row: LinkRow): Link => ({
  id: row.id,
  slug: row.slug,
  target: row.target,
  clicks: row.clicks,
  createdAt: row.created_at,
});

const SELECT_LINKS = `SELECT u.id, u.slug, u.target, u.created_at,
  (SELECT count(*)::int FROM clicks c WHERE c.url_id = u.id) AS clicks
  FROM urls u`;

export const links = (pool: Pool) => ({
  async list(): Promise<Link[]> {
    const { rows } = await pool.query<LinkRow>(`${SELECT_LINKS} ORDER BY u.id`);
    return rows.map(toLink);
  },

  async count(): Promise<number> {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM urls');
    return rows[0]!.n;
  },

  async find(slug: string): Promise<Link | undefined> {
    const { rows } = await pool.query<LinkRow>(`${SELECT_LINKS} WHERE u.slug = $1`, [slug]);
    return rows[0] && toLink(rows[0]);
  },

  async create(slug: string, target: string): Promise<Link> {
    try {
      const { rows } = await pool.query<LinkRow>(
        'INSERT INTO urls (slug, target) VALUES ($1, $2) RETURNING id, slug, target, created_at, 0 AS clicks',
        [slug, target],
      );
      return toLink(rows[0]!);
    } catch (error) {
      // 23505: unique_violation, on urls.slug.
      if (error instanceof DatabaseError && error.code === '23505') throw new DuplicateSlugError(slug);
      throw error;
    }
  },

  /** True when the link existed; its clicks go with it (ON DELETE CASCADE). */
  async remove(slug: string): Promise<boolean> {
    const { rowCount } = await pool.query('DELETE FROM urls WHERE slug = $1', [slug]);
    return rowCount === 1;
  },

  /** The link's target, with the click recorded in the same statement; undefined for an unknown slug. */
  async follow(slug: string): Promise<string | undefined> {
    const { rows } = await pool.query<{ target: string }>(
      `WITH link AS (SELECT id, target FROM urls WHERE slug = $1),
        click AS (INSERT INTO clicks (url_id) SELECT id FROM link)
      SELECT target FROM link`,
      [slug],
    );
    return rows[0]?.target;
  },
});

export type Links = ReturnType<typeof links>;

const SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// Paths of the app's own that a slug would shadow, or be shadowed by (/api/links/count).
const RESERVED = new Set(['api', 'health', 'links', 'count']);

/** Why a new link cannot be made from this input, or undefined when it can. */
export function invalidLink(slug: unknown, target: unknown): string | undefined {
  if (typeof slug !== 'string' || !SLUG.test(slug))
    return 'the slug must be 1 to 64 letters, digits, "-" or "_", starting with a letter or digit';
  if (RESERVED.has(slug.toLowerCase())) return `the slug "${slug}" is reserved`;
  if (typeof target !== 'string') return 'the target must be an http or https URL';
  try {
    const { protocol } = new URL(target);
    if (protocol === 'http:' || protocol === 'https:') return undefined;
  } catch {}
  return 'the target must be an http or https URL';
}

export const isSlug = (text: string) => SLUG.test(text);
