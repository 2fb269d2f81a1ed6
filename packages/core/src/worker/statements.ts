// Reading the app's SQL text in transaction mode: where one statement ends,
// and which statements open or close a transaction.

export const BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
export const COMMIT = /^\s*(COMMIT|END)\b(?!\s+PREPARED)/i;
export const ROLLBACK = /^\s*ROLLBACK\b(?!\s+(TO|PREPARED)\b)/i;
export const CONTROL = [BEGIN, COMMIT, ROLLBACK];
export const LISTEN = /^\s*LISTEN\b/i;
/** Text with a statement (at the start of a line) that may add or drop a constraint. */
export const SCHEMA_CHANGE = /^\s*(CREATE|ALTER|DROP|DO|CALL)\b/im;

/**
 * The statements of a simple-protocol string, split at semicolons outside
 * strings (E'' strings with backslash escapes included), quoted identifiers,
 * dollar quotes and comments.
 */
export function splitStatements(sql: string): string[] {
  const parts: string[] = [];
  const token =
    /\b[Ee]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|(\$[A-Za-z_]*\$)[\s\S]*?\1|;/g;
  let start = 0;
  for (let match = token.exec(sql); match; match = token.exec(sql)) {
    if (match[0] !== ';') continue;
    parts.push(sql.slice(start, match.index));
    start = match.index + 1;
  }
  parts.push(sql.slice(start));
  return parts.filter((part) => part.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() !== '');
}
