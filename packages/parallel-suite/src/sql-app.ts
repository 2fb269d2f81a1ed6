import type { Pool } from 'pg';
import type { Url, UrlShortenerApp } from './app';

interface UrlRow {
  id: number;
  slug: string;
  target: string;
  created_at: Date;
}

const toUrl = (row: UrlRow): Url => ({ id: row.id, slug: row.slug, target: row.target, createdAt: row.created_at });
const COLUMNS = 'id, slug, target, created_at';

/**
 * The URL shortener in plain SQL over the app's pg.Pool: the app of the examples
 * whose tool only migrates (raw SQL files, node-pg-migrate).
 */
export const sqlUrlShortener = (pool: Pool): UrlShortenerApp => ({
  async createUrl(slug, target) {
    const { rows } = await pool.query<UrlRow>(`INSERT INTO urls (slug, target) VALUES ($1, $2) RETURNING ${COLUMNS}`, [
      slug,
      target,
    ]);
    return toUrl(rows[0]!);
  },
  async listUrls() {
    const { rows } = await pool.query<UrlRow>(`SELECT ${COLUMNS} FROM urls ORDER BY id`);
    return rows.map(toUrl);
  },
  async countUrls() {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM urls');
    return rows[0]!.n;
  },
  async findUrl(slug) {
    const { rows } = await pool.query<UrlRow>(`SELECT ${COLUMNS} FROM urls WHERE slug = $1`, [slug]);
    return rows[0] ? toUrl(rows[0]) : null;
  },
  async deleteUrl(id) {
    await pool.query('DELETE FROM urls WHERE id = $1', [id]);
  },
  async recordClick(urlId) {
    await pool.query('INSERT INTO clicks (url_id) VALUES ($1)', [urlId]);
  },
  async countClicks(urlId) {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM clicks WHERE url_id = $1', [
      urlId,
    ]);
    return rows[0]!.n;
  },
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<UrlRow>(
        `INSERT INTO urls (slug, target) VALUES ($1, $2) RETURNING ${COLUMNS}`,
        [slug, target],
      );
      for (let i = 0; i < clicks; i++) await client.query('INSERT INTO clicks (url_id) VALUES ($1)', [rows[0]!.id]);
      if (fail) throw new Error('failing on purpose after the inserts');
      await client.query('COMMIT');
      return toUrl(rows[0]!);
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  },
  async close() {
    await pool.end();
  },
});
