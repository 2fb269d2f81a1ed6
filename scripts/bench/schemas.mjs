// Synthetic schemas for the reset benchmark: n tables with identity keys, a
// chain of foreign keys, the shape of a real app's tables.

export function syntheticSchema(tables) {
  const ddl = [];
  for (let i = 0; i < tables; i++) {
    const parent = i > 0 && i % 3 !== 0 ? `, parent_id int REFERENCES t${i - 1}(id) ON DELETE CASCADE` : '';
    ddl.push(
      `CREATE TABLE t${i} (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()${parent})`,
    );
  }
  return ddl.join(';\n');
}

/** What a test typically leaves behind: a few rows in `dirty` tables (parents before children). */
export function dirtySql(tables, dirty) {
  const statements = [];
  const chosen = dirty === 'all' ? tables : dirty;
  for (let i = 0; i < chosen; i++) {
    const table = dirty === 'all' ? i : Math.floor((i * tables) / chosen);
    const hasParent = table > 0 && table % 3 !== 0;
    statements.push(
      hasParent
        ? `INSERT INTO t${table} (label, parent_id) SELECT 'row', (SELECT min(id) FROM t${table - 1}) FROM generate_series(1, 3)`
        : `INSERT INTO t${table} (label) SELECT 'row' FROM generate_series(1, 3)`,
    );
  }
  return statements.join(';\n');
}
