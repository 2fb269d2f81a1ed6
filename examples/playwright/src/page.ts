import type { Link } from './links';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

/** What the form was given when it was refused, shown again with the reason. */
export interface RefusedForm {
  slug: string;
  target: string;
  error: string;
}

/**
 * The whole UI: a form that posts to /links (a plain form POST, answered with a
 * redirect back here, so no script is needed) and the links with their clicks.
 */
export function renderPage(links: Link[], refused?: RefusedForm): string {
  const rows = links
    .map(
      (link) => `<tr data-testid="link" data-slug="${escapeHtml(link.slug)}">
  <td><a href="/${escapeHtml(link.slug)}">${escapeHtml(link.slug)}</a></td>
  <td>${escapeHtml(link.target)}</td>
  <td data-testid="clicks">${link.clicks}</td>
</tr>`,
    )
    .join('\n');
  const table = links.length
    ? `<table aria-labelledby="links-heading">
<thead><tr><th scope="col">Short link</th><th scope="col">Target</th><th scope="col">Clicks</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : '<p>No links yet.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>URL shortener</title>
</head>
<body>
<main>
<h1>URL shortener</h1>
<form method="post" action="/links">
<p><label for="slug">Slug</label> <input id="slug" name="slug" required value="${escapeHtml(refused?.slug ?? '')}"></p>
<p><label for="target">Target URL</label> <input id="target" name="target" type="url" required value="${escapeHtml(refused?.target ?? '')}"></p>
<p><button type="submit">Create link</button></p>
${refused ? `<p role="alert">${escapeHtml(refused.error)}</p>` : ''}
</form>
<section aria-labelledby="links-heading">
<h2 id="links-heading">Links</h2>
<p data-testid="link-count">${links.length === 1 ? '1 link' : `${links.length} links`}</p>
${table}
</section>
</main>
</body>
</html>
`;
}
