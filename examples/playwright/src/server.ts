// The URL shortener over HTTP: node:http and pg, nothing else. Reads DATABASE_URL
// and PORT at start, as a deployed app would; under pgwork's Playwright binding
// every worker starts one of these on its own database and port.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { DuplicateSlugError, invalidLink, isSlug, links as linksOf } from './links';
import { renderPage } from './page';

const { DATABASE_URL, PORT } = process.env;
if (!DATABASE_URL) throw new Error('DATABASE_URL is not set');
const port = Number(PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT must be a port number, got ${JSON.stringify(PORT)}`);

const pool = new Pool({ connectionString: DATABASE_URL, max: 5 });
// An idle connection that dies (the database dropped at a run's end) must not crash the server.
pool.on('error', (error) => console.error(`idle database connection lost: ${error.message}`));
const links = linksOf(pool);

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  req.setEncoding('utf8');
  for await (const chunk of req) {
    body += chunk;
    if (body.length > MAX_BODY) throw new HttpError(413, 'the request body is too large');
  }
  return body;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const value = JSON.parse(await readBody(req));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch (error) {
    if (error instanceof HttpError) throw error;
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
const sendHtml = (res: ServerResponse, status: number, html: string) =>
  send(res, status, 'text/html; charset=utf-8', html);

function redirect(res: ServerResponse, status: 302 | 303, location: string) {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';

  if (method === 'GET' && pathname === '/health') {
    await pool.query('SELECT 1');
    return send(res, 200, 'text/plain; charset=utf-8', 'ok');
  }
  if (method === 'GET' && pathname === '/') return sendHtml(res, 200, renderPage(await links.list()));

  // The page's form: a plain POST, answered by a redirect to the page (or the page again with the reason).
  if (method === 'POST' && pathname === '/links') {
    const form = new URLSearchParams(await readBody(req));
    const slug = form.get('slug')?.trim() ?? '';
    const target = form.get('target')?.trim() ?? '';
    const invalid = invalidLink(slug, target);
    if (invalid) return sendHtml(res, 400, renderPage(await links.list(), { slug, target, error: invalid }));
    try {
      await links.create(slug, target);
    } catch (error) {
      if (!(error instanceof DuplicateSlugError)) throw error;
      return sendHtml(res, 409, renderPage(await links.list(), { slug, target, error: error.message }));
    }
    return redirect(res, 303, '/');
  }

  if (pathname === '/api/links') {
    if (method === 'GET') return sendJson(res, 200, await links.list());
    if (method === 'POST') {
      const { slug, target } = await readJson(req);
      const invalid = invalidLink(slug, target);
      if (invalid) throw new HttpError(400, invalid);
      try {
        return sendJson(res, 201, await links.create(slug as string, target as string));
      } catch (error) {
        if (error instanceof DuplicateSlugError) throw new HttpError(409, error.message);
        throw error;
      }
    }
    throw new HttpError(405, `${method} is not allowed on /api/links`);
  }
  if (method === 'GET' && pathname === '/api/links/count') return sendJson(res, 200, { count: await links.count() });

  const apiSlug = pathname.match(/^\/api\/links\/([^/]+)$/)?.[1];
  if (apiSlug !== undefined && isSlug(apiSlug)) {
    if (method === 'GET') {
      const link = await links.find(apiSlug);
      if (!link) throw new HttpError(404, `no link "${apiSlug}"`);
      return sendJson(res, 200, link);
    }
    if (method === 'DELETE') {
      if (!(await links.remove(apiSlug))) throw new HttpError(404, `no link "${apiSlug}"`);
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(405, `${method} is not allowed on a link`);
  }

  const slug = pathname.slice(1);
  if (method === 'GET' && isSlug(slug)) {
    const target = await links.follow(slug);
    if (target) return redirect(res, 302, target);
  }
  throw new HttpError(404, `nothing at ${method} ${pathname}`);
}

const server = createServer((req, res) => {
  route(req, res).catch((error: unknown) => {
    const status = error instanceof HttpError ? error.status : 500;
    if (status === 500) console.error(`${req.method} ${req.url}:`, error);
    const message = status === 500 ? 'internal error' : (error as Error).message;
    if (res.headersSent) res.destroy();
    else if (req.url?.startsWith('/api/')) sendJson(res, status, { error: message });
    else send(res, status, 'text/plain; charset=utf-8', message);
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`shortener listening on http://127.0.0.1:${port} (database ${new URL(DATABASE_URL).pathname.slice(1)})`);
});

async function stop(signal: string) {
  console.log(`shortener: ${signal}, stopping`);
  server.close();
  // Keep-alive connections (the browser's, Playwright's request context) would hold close() open.
  server.closeAllConnections();
  await pool.end().catch((error: Error) => console.error(`closing the pool: ${error.message}`));
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
