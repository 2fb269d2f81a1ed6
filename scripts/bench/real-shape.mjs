// A generated schema of a real app's shape, for `pnpm bench` (its real-shape
// rows) and for tests that want more than plain tables. Modelled on a large
// public schema (MusicBrainz: 519 tables in 10 schemas, 1,101 indexes, 895
// foreign keys, 58 self-referencing tables, 452 triggers on 193 tables,
// partitions, extensions): entity tables with identity or serial keys, their
// lookup types (often a tree: a self-reference), 1:1 meta tables, aliases,
// tags, ratings, gid redirects and link tables between entities, across
// schemas; ~40% of the tables carry PL/pgSQL row triggers that write other
// tables (an edit history partitioned by range or hash, counters upserted in a
// summary table, the entity's meta row, a parent's alias count); foreign keys
// with every ON DELETE action; and pgcrypto, citext and pg_trgm where the
// server has them (skipped, never failed, where it does not or the role may
// not create them).
//
// Deterministic: a seeded PRNG, no clock, no server-dependent names; the same
// options give the same SQL on every run. No imports, so CommonJS can
// require() it (Node >= 20.19) as well as import it.
//
//   import { realShapeSchema } from './real-shape.mjs';
//   const { ddl, dirtyRelated, dirtyAll } = realShapeSchema();
//   await client.query(ddl);          // one simple-protocol script, into an empty database
//   await client.query(dirtyRelated); // what a test that wrote 3 related tables leaves
//   await client.query(dirtyAll);     // a few rows in every application table
//
// dirtyRelated writes core.artist_type (self-referencing: a root type and two
// children), core.artist (a parent with row triggers: its history, meta row,
// counter and last_updated) and core.artist_alias (a child referencing it,
// whose trigger bumps artist.alias_count); the triggers' writes leave four more
// tables with rows (core.artist_meta, two edit histories, stats.row_count), as a
// real test's would. Run both where triggers fire (an app's connection, not one
// in session_replication_role replica). Both are written for empty tables (what
// a reset leaves) and may run again after each reset.

export const REAL_SHAPE_DEFAULTS = { tables: 520, seed: 30 };

/** The schemas, with the share of generated families each gets (sinks and base tables aside). */
const SCHEMAS = [
  ['core', 58],
  ['media', 8],
  ['event_media', 5],
  ['docs', 4],
  ['wiki', 4],
  ['report', 6],
  ['sitemap', 5],
  ['mirror', 6],
  ['edit', 0], // the triggers' histories
  ['stats', 0], // their counters
];

const NOUNS = [
  'artist',
  'release',
  'recording',
  'work',
  'label',
  'area',
  'place',
  'event',
  'series',
  'instrument',
  'genre',
  'release_group',
  'medium',
  'track',
  'url',
  'collection',
  'mood',
  'venue',
  'tour',
  'festival',
  'studio',
  'publisher',
  'catalog',
  'credit',
  'lyric',
  'score',
  'album',
  'single',
  'playlist',
  'chart',
  'award',
  'review',
  'interview',
  'broadcast',
  'station',
  'program',
  'episode',
  'podcast',
  'session',
  'rehearsal',
  'contract',
  'royalty',
  'license',
  'distributor',
  'format',
  'barcode',
  'language',
  'script',
  'country',
  'region',
  'city',
  'district',
  'building',
  'room',
  'device',
  'sample',
  'stem',
  'mix',
  'master',
  'remaster',
];

/** mulberry32: small, fast, and the same sequence for the same seed everywhere (the reset differential test draws from it too). */
export function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p) => next() < p,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted: (pairs) => {
      const total = pairs.reduce((sum, [, weight]) => sum + weight, 0);
      let roll = next() * total;
      for (const [item, weight] of pairs) {
        roll -= weight;
        if (roll < 0) return item;
      }
      return pairs[pairs.length - 1][0];
    },
  };
}

/** How many of the first entities draw a share of the references. */
const HUBS = 4;

const quote = (name) => `"${name.replace(/"/g, '""')}"`;

/**
 * The schema, the SQL a test that wrote three related tables leaves, and the
 * SQL that writes every application table. `tables` is the number of tables
 * aimed at (partitions not counted; the result is within a family's size of it).
 */
export function realShapeSchema(options = {}) {
  const { tables: target, seed } = { ...REAL_SHAPE_DEFAULTS, ...options };
  const random = prng(seed);
  const model = new Model(random);

  // Extensions first, each only where the server has it and the role may create it.
  model.raw(`DO $$
DECLARE e text;
BEGIN
  FOREACH e IN ARRAY ARRAY['pgcrypto', 'citext', 'pg_trgm'] LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = e) THEN
      BEGIN
        EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', e);
      EXCEPTION WHEN insufficient_privilege OR feature_not_supported THEN
        RAISE NOTICE 'real-shape schema: extension % skipped (%)', e, SQLERRM;
      END;
    END IF;
  END LOOP;
END $$`);
  for (const [schema] of SCHEMAS) model.raw(`CREATE SCHEMA ${quote(schema)}`);

  // Base tables everything else hangs off.
  const editor = model.table('core', 'editor', { key: 'serial' }, [
    col('name', 'text NOT NULL', `'editor ' || g`),
    col('email', 'text', `'e' || g || '@example.com'`),
    col('password_salt', 'bytea'),
    col('member_since', 'timestamptz NOT NULL DEFAULT now()'),
  ]);
  model.index(editor, 'name', { unique: true });
  model.sinks(editor);

  const annotation = model.table('core', 'annotation', { key: 'serial' }, [
    col('text', 'text NOT NULL', `'note'`),
    col('changelog', 'text'),
  ]);
  model.fk(annotation, 'editor', editor, { notNull: true });
  const tag = model.table('core', 'tag', { key: 'serial' }, [col('name', 'text NOT NULL', `'tag ' || g`)]);
  model.index(tag, 'name', { unique: true });
  const linkType = model.table('core', 'link_type', { key: 'serial' }, [
    col('name', 'text NOT NULL', `'link type ' || g`),
    col('child_order', 'int NOT NULL DEFAULT 0'),
  ]);
  model.selfReference(linkType, 'parent', 'NO ACTION');
  const link = model.table('core', 'link', { key: 'serial' }, [
    col('begin_date', 'date'),
    col('ended', 'boolean NOT NULL DEFAULT false'),
  ]);
  model.fk(link, 'link_type', linkType, { notNull: true });
  model.index(link, 'link_type');
  model.withTriggers(link, { history: true, counter: true });

  // The related three dirtyRelated writes: a self-referencing type, a parent with triggers, a child of it.
  const artist = model.family('core', 'artist', {
    type: { selfReference: 'SET NULL' },
    meta: true,
    alias: { triggers: true },
    triggers: { history: true, lastUpdated: true, counter: true },
    entityRefs: 0,
  });
  model.related = [artist.type, artist.entity, artist.alias];

  const schemaWeights = SCHEMAS.filter(([, weight]) => weight > 0);
  const used = new Map(SCHEMAS.map(([schema]) => [schema, new Set(['artist'])]));
  let families = 0;
  while (model.tables.length < target) {
    const schema = random.weighted(schemaWeights);
    const names = used.get(schema);
    const base = NOUNS[families % NOUNS.length];
    let noun = base;
    for (let n = 2; names.has(noun); n++) noun = `${base}_${n}`;
    names.add(noun);
    families++;
    model.family(schema, noun, {
      type: random.chance(0.62)
        ? { selfReference: random.chance(0.65) && random.pick(['SET NULL', 'NO ACTION']) }
        : undefined,
      meta: random.chance(0.45),
      alias: random.chance(0.6) ? { triggers: random.chance(0.5) } : undefined,
      tags: random.chance(0.5),
      annotation: random.chance(0.35) && annotation,
      redirect: random.chance(0.35),
      ratings: random.chance(0.3),
      links: random.int(0, 3),
      selfReference: random.chance(0.18) && random.pick(['SET NULL', 'NO ACTION', 'CASCADE']),
      triggers: random.chance(0.85)
        ? { history: true, lastUpdated: random.chance(0.7), counter: random.chance(0.6) }
        : undefined,
      entityRefs: random.weighted([
        [0, 5],
        [1, 3],
        [2, 1],
      ]),
      partitioned: families % 24 === 5,
      tag,
      editor,
      link,
    });
  }
  model.extensionUse();

  return {
    ddl: model.statements.join(';\n'),
    dirtyRelated: model.dirtyRelated(),
    dirtyAll: model.dirtyAll(),
    /** The three tables dirtyRelated writes, schema-qualified: the type, the parent, the child. */
    relatedTables: model.related.map((t) => `${t.schema}.${t.name}`),
    /** Every table the generator made (partitions aside), in creation order: parents before children. */
    tables: model.tables.map((t) => `${t.schema}.${t.name}`),
  };
}

/** A column: its name, its SQL type and constraints, and the expression dirty scripts fill it with (g: 1..n). */
function col(name, type, fill) {
  return { name, type, fill };
}

class Model {
  constructor(random) {
    this.random = random;
    this.statements = [];
    this.tables = [];
    this.entities = [];
    this.related = [];
  }

  raw(sql) {
    this.statements.push(sql);
  }

  /** A table with a generated key (`always`, `default`: identity; `serial`), created at once. */
  table(schema, name, { key, partition } = {}, columns = []) {
    const table = {
      schema,
      name,
      qualified: `${quote(schema)}.${quote(name)}`,
      columns: [...columns],
      fks: [],
      selfRef: undefined,
      composite: undefined,
      partition,
      conflict: undefined,
      from: undefined,
    };
    const keyType =
      key === 'always'
        ? 'int GENERATED ALWAYS AS IDENTITY'
        : key === 'default'
          ? 'int GENERATED BY DEFAULT AS IDENTITY'
          : key === 'bigserial'
            ? 'bigserial'
            : key === 'serial'
              ? 'serial'
              : undefined;
    const definitions = [];
    // A partitioned table's key must hold its partition key.
    const keyed = keyType && partition && partition.column !== 'id';
    if (keyType) definitions.push(`id ${keyType}${keyed ? '' : ' PRIMARY KEY'}`);
    for (const c of columns) definitions.push(`${quote(c.name)} ${c.type}`);
    if (keyed) definitions.push(`PRIMARY KEY (id, ${quote(partition.column)})`);
    table.hasId = Boolean(keyType);
    const by = partition ? ` PARTITION BY ${partition.by} (${quote(partition.column)})` : '';
    this.statements.push(`CREATE TABLE ${table.qualified} (${definitions.join(', ')})${by}`);
    if (partition) {
      partition.parts.forEach((bound, i) => {
        this.statements.push(
          `CREATE TABLE ${quote(schema)}.${quote(`${name}_p${i}`)} PARTITION OF ${table.qualified} ${bound}`,
        );
      });
    }
    this.tables.push(table);
    return table;
  }

  /** A foreign key column (added to the table) and its constraint. */
  fk(table, column, target, { notNull = false, onDelete = 'NO ACTION', index = false } = {}) {
    this.statements.push(
      `ALTER TABLE ${table.qualified} ADD COLUMN ${quote(column)} int${notNull ? ' NOT NULL' : ''} REFERENCES ${target.qualified} (id) ON DELETE ${onDelete}`,
    );
    table.columns.push({ name: column, type: 'int', ref: target, notNull });
    table.fks.push({ column, target, onDelete, notNull });
    if (index) this.index(table, column);
  }

  selfReference(table, column, onDelete) {
    this.statements.push(
      `ALTER TABLE ${table.qualified} ADD COLUMN ${quote(column)} int REFERENCES ${table.qualified} (id) ON DELETE ${onDelete}`,
    );
    table.selfRef = column;
    this.index(table, column);
  }

  index(table, columns, { unique = false, using } = {}) {
    const list = (Array.isArray(columns) ? columns : [columns]).map(quote).join(', ');
    this.indexes = (this.indexes ?? 0) + 1;
    const name = `ix${this.indexes}_${table.name}`.slice(0, 63);
    this.statements.push(
      `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quote(name)} ON ${table.qualified}${using ? ` USING ${using}` : ''} (${list})`,
    );
  }

  /**
   * What the triggers write: edit histories (partitioned by range on time,
   * with a default partition, or by hash on the key) and counters in a summary
   * table, one trigger function per sink.
   */
  sinks(editor) {
    const years = [2000, 2010, 2020, 2030, 2040];
    const range = {
      by: 'RANGE',
      column: 'created',
      parts: [
        ...years.slice(0, -1).map((y, i) => `FOR VALUES FROM ('${y}-01-01') TO ('${years[i + 1]}-01-01')`),
        'DEFAULT',
      ],
    };
    const hash = {
      by: 'HASH',
      column: 'id',
      parts: [0, 1, 2, 3].map((r) => `FOR VALUES WITH (MODULUS 4, REMAINDER ${r})`),
    };
    this.histories = ['edit_core', 'edit_media', 'edit_misc', 'edit_mirror'].map((name, i) => {
      const history = this.table('edit', name, { key: 'bigserial', partition: i % 2 ? hash : range }, [
        col('created', 'timestamptz NOT NULL DEFAULT now()'),
        col('table_name', 'text NOT NULL', `'seed'`),
        col('op', 'text NOT NULL', `'INSERT'`),
        col('data', 'jsonb'),
      ]);
      this.fk(history, 'editor', editor, { onDelete: 'SET NULL' });
      this.index(history, 'table_name');
      history.log = `${quote('edit')}.${quote(`log_${name}`)}`;
      this.statements.push(`CREATE FUNCTION ${history.log}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${history.qualified} (table_name, op, data)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END));
  RETURN NULL;
END $$`);
      return history;
    });
    this.counters = ['row_count', 'daily_count'].map((name) => {
      const counter = this.table('stats', name, {}, [
        col('name', 'text PRIMARY KEY', `'seed ' || g`),
        col('value', 'bigint NOT NULL DEFAULT 0'),
        col('updated', 'timestamptz NOT NULL DEFAULT now()'),
      ]);
      counter.conflict = '(name) DO NOTHING';
      counter.bump = `${quote('stats')}.${quote(`bump_${name}`)}`;
      this.statements.push(`CREATE FUNCTION ${counter.bump}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${counter.qualified} AS c (name, value)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END)
  ON CONFLICT (name) DO UPDATE SET value = c.value + EXCLUDED.value, updated = now();
  RETURN NULL;
END $$`);
      return counter;
    });
    const statistic = this.table('stats', 'statistic', { key: 'serial' }, [
      col('name', 'text NOT NULL', `'stat ' || g`),
      col('value', 'bigint NOT NULL DEFAULT 0'),
      col('date_collected', 'date NOT NULL DEFAULT current_date'),
    ]);
    this.index(statistic, ['name', 'date_collected'], { unique: true });
    this.statements.push(`CREATE FUNCTION ${quote('core')}.${quote('set_last_updated')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.last_updated := now();
  RETURN NEW;
END $$`);
  }

  /** Row triggers on a table: its history, a counter, a BEFORE UPDATE timestamp. */
  withTriggers(table, { history, counter, lastUpdated }) {
    const name = (what) => quote(`${what}_${table.name}`.slice(0, 60));
    if (history) {
      const sink = this.histories[this.tables.indexOf(table) % this.histories.length];
      this.statements.push(
        `CREATE TRIGGER ${name('a_log')} AFTER INSERT OR UPDATE OR DELETE ON ${table.qualified} FOR EACH ROW EXECUTE FUNCTION ${sink.log}()`,
      );
    }
    if (counter) {
      const sink = this.random.pick(this.counters);
      this.statements.push(
        `CREATE TRIGGER ${name('a_count')} AFTER INSERT OR DELETE ON ${table.qualified} FOR EACH ROW EXECUTE FUNCTION ${sink.bump}()`,
      );
    }
    if (lastUpdated) {
      this.statements.push(
        `CREATE TRIGGER ${name('b_upd')} BEFORE UPDATE ON ${table.qualified} FOR EACH ROW EXECUTE FUNCTION core.set_last_updated()`,
      );
    }
  }

  /** A per-table trigger function with a static statement, fired AFTER `events`. */
  triggerWriting(table, what, events, body) {
    const fn = `${quote(table.schema)}.${quote(`${what}_${table.name}`.slice(0, 60))}`;
    this.statements.push(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ${body};
  RETURN NULL;
END $$`);
    this.statements.push(
      `CREATE TRIGGER ${quote(`${what}_${table.name}`.slice(0, 60))} AFTER ${events} ON ${table.qualified} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    );
  }

  /** An entity and the tables around it, as a real app has them. */
  family(schema, noun, spec) {
    const random = this.random;
    const out = {};
    const action = (nullable) =>
      random.weighted(
        nullable
          ? [
              ['NO ACTION', 6],
              ['SET NULL', 3],
              ['RESTRICT', 1],
              ['CASCADE', 1],
            ]
          : [
              ['NO ACTION', 6],
              ['CASCADE', 3],
              ['RESTRICT', 1],
            ],
      );
    const key = () =>
      random.weighted([
        ['always', 4],
        ['default', 3],
        ['serial', 3],
      ]);

    if (spec.type) {
      out.type = this.table(schema, `${noun}_type`, { key: key() }, [
        col('name', 'text NOT NULL', `'type ' || g`),
        col('child_order', 'int NOT NULL DEFAULT 0'),
        col('description', 'text'),
      ]);
      if (spec.type.selfReference) this.selfReference(out.type, 'parent', spec.type.selfReference);
      if (random.chance(0.3)) this.index(out.type, 'name', { unique: true });
    }

    const entity = this.table(schema, noun, { key: key() }, [
      col('gid', 'uuid NOT NULL DEFAULT gen_random_uuid()'),
      col('name', 'text NOT NULL', `'${noun} ' || g`),
      col('comment', `text NOT NULL DEFAULT ''`),
      col('edits_pending', 'int NOT NULL DEFAULT 0 CHECK (edits_pending >= 0)'),
      col('last_updated', 'timestamptz DEFAULT now()'),
      ...(spec.alias ? [col('alias_count', 'int NOT NULL DEFAULT 0')] : []),
    ]);
    out.entity = entity;
    this.index(entity, 'gid', { unique: true });
    if (random.chance(0.3)) this.index(entity, 'name');
    if (out.type) this.fk(entity, 'type', out.type, { onDelete: 'SET NULL', index: random.chance(0.3) });
    // References go to any earlier entity, a fifth of them to the first few (the hubs: artist, release, ...).
    const earlier = [...this.entities];
    for (let i = 0; i < spec.entityRefs && earlier.length; i++) {
      const hub = random.chance(0.2) ? Math.min(HUBS, earlier.length) : earlier.length;
      const target = earlier.splice(random.int(0, hub - 1), 1)[0];
      const notNull = random.chance(0.3);
      const base = `${target.name}_id`.slice(0, 50);
      let column = base;
      for (let n = 2; entity.columns.some((c) => c.name === column); n++) column = `${base}_${n}`;
      this.fk(entity, column, target, {
        notNull,
        onDelete: action(!notNull),
        index: random.chance(0.3),
      });
    }
    if (spec.selfReference) this.selfReference(entity, 'merged_into', spec.selfReference);
    if (spec.partitioned && spec.editor) {
      // A partitioned table of the app's own: plays of the entity, by month of a fixed year.
      const plays = this.table(
        schema,
        `${noun}_play`,
        {
          key: 'bigserial',
          partition: {
            by: 'RANGE',
            column: 'played',
            parts: [
              ...[1, 4, 7, 10].map(
                (m) =>
                  `FOR VALUES FROM ('2024-${String(m).padStart(2, '0')}-01') TO ('${m === 10 ? '2025-01' : `2024-${String(m + 3).padStart(2, '0')}`}-01')`,
              ),
              'DEFAULT',
            ],
          },
        },
        [col('played', 'date NOT NULL', `DATE '2024-01-01' + g * 40`), col('seconds', 'int')],
      );
      this.fk(plays, noun, entity, { notNull: true, onDelete: 'CASCADE', index: true });
      this.fk(plays, 'editor', spec.editor, { onDelete: 'SET NULL' });
      this.withTriggers(plays, { counter: true });
    }

    if (spec.meta) {
      out.meta = this.table(schema, `${noun}_meta`, {}, [
        col('rating', 'smallint CHECK (rating BETWEEN 0 AND 100)'),
        col('rating_count', 'int NOT NULL DEFAULT 0'),
      ]);
      this.statements.push(
        `ALTER TABLE ${out.meta.qualified} ADD COLUMN id int PRIMARY KEY REFERENCES ${entity.qualified} (id) ON DELETE CASCADE`,
      );
      out.meta.fks.push({ column: 'id', target: entity, onDelete: 'CASCADE', notNull: true });
      out.meta.from = { source: entity, column: 'id', conflict: '(id) DO NOTHING' };
    }

    if (spec.alias) {
      out.alias = this.table(schema, `${noun}_alias`, { key: key() }, [
        col('name', 'text NOT NULL', `'alias ' || g`),
        col('locale', 'text'),
        col('primary_for_locale', 'boolean NOT NULL DEFAULT false'),
      ]);
      this.fk(out.alias, noun, entity, { notNull: true, onDelete: action(false), index: random.chance(0.7) });
      if (spec.alias.triggers) {
        this.withTriggers(out.alias, { history: true });
        this.triggerWriting(
          out.alias,
          'a_count',
          'INSERT OR DELETE',
          `UPDATE ${entity.qualified} SET alias_count = alias_count + CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END WHERE id = CASE TG_OP WHEN 'DELETE' THEN OLD.${quote(noun)} ELSE NEW.${quote(noun)} END`,
        );
      }
    }

    if (spec.triggers) {
      this.withTriggers(entity, spec.triggers);
      if (out.meta)
        this.triggerWriting(entity, 'a_ins', 'INSERT', `INSERT INTO ${out.meta.qualified} (id) VALUES (NEW.id)`);
    }

    if (spec.tags && spec.tag) {
      out.tags = this.table(schema, `${noun}_tag`, {}, [col('count', 'int NOT NULL DEFAULT 1', '1')]);
      this.fk(out.tags, noun, entity, { notNull: true, onDelete: action(false) });
      this.fk(out.tags, 'tag', spec.tag, { notNull: true, onDelete: action(false) });
      this.composite(out.tags, [noun, 'tag']);
      this.index(out.tags, 'tag');
      if (random.chance(0.45)) this.withTriggers(out.tags, { counter: true, history: random.chance(0.5) });
    }

    if (spec.annotation) {
      out.annotation = this.table(schema, `${noun}_annotation`, {}, []);
      this.fk(out.annotation, noun, entity, { notNull: true, onDelete: 'CASCADE' });
      this.fk(out.annotation, 'annotation', spec.annotation, { notNull: true, onDelete: action(false) });
      this.composite(out.annotation, [noun, 'annotation']);
    }

    if (spec.redirect) {
      out.redirect = this.table(schema, `${noun}_gid_redirect`, {}, [
        col('gid', 'uuid PRIMARY KEY', 'gen_random_uuid()'),
        col('created', 'timestamptz DEFAULT now()'),
      ]);
      this.fk(out.redirect, 'new_id', entity, { notNull: true, onDelete: action(false), index: true });
    }

    if (spec.ratings && spec.editor) {
      out.ratings = this.table(schema, `${noun}_rating_raw`, {}, [
        col('rating', 'smallint NOT NULL CHECK (rating BETWEEN 0 AND 100)', '60'),
      ]);
      this.fk(out.ratings, noun, entity, { notNull: true, onDelete: 'CASCADE' });
      this.fk(out.ratings, 'editor', spec.editor, { notNull: true, onDelete: action(false), index: true });
      this.composite(out.ratings, [noun, 'editor']);
      if (random.chance(0.5)) {
        if (out.meta)
          this.triggerWriting(
            out.ratings,
            'a_rate',
            'INSERT OR UPDATE OR DELETE',
            `UPDATE ${out.meta.qualified} SET rating_count = rating_count + 1 WHERE id = CASE TG_OP WHEN 'DELETE' THEN OLD.${quote(noun)} ELSE NEW.${quote(noun)} END`,
          );
        else this.withTriggers(out.ratings, { counter: true });
      }
    }

    for (let i = 0; i < (spec.links ?? 0) && spec.link; i++) {
      const other = this.entities.length && random.chance(0.85) ? random.pick(this.entities) : entity;
      let name = `l_${noun}_${other.name}`.slice(0, 50);
      while (this.tables.some((t) => t.schema === schema && t.name === name)) name = `${name}_x`;
      const linked = this.table(schema, name, { key: key() }, [
        col('link_order', 'int NOT NULL DEFAULT 0'),
        col('edits_pending', 'int NOT NULL DEFAULT 0 CHECK (edits_pending >= 0)'),
        col('last_updated', 'timestamptz DEFAULT now()'),
      ]);
      this.fk(linked, 'link', spec.link, { notNull: true, onDelete: 'NO ACTION' });
      this.fk(linked, 'entity0', entity, { notNull: true, onDelete: action(false) });
      this.fk(linked, 'entity1', other, { notNull: true, onDelete: action(false), index: random.chance(0.6) });
      this.index(linked, ['entity0', 'entity1', 'link', 'link_order'], { unique: true });
      linked.conflict = 'DO NOTHING';
      if (random.chance(0.6))
        this.withTriggers(linked, { history: true, counter: random.chance(0.4), lastUpdated: random.chance(0.5) });
    }

    this.entities.push(entity);
    return out;
  }

  composite(table, columns) {
    this.statements.push(`ALTER TABLE ${table.qualified} ADD PRIMARY KEY (${columns.map(quote).join(', ')})`);
    table.conflict = 'DO NOTHING';
  }

  /** Where the extensions are there: citext for editors' emails, pgcrypto's salt, trigram indexes on names. */
  extensionUse() {
    const trigram = this.entities
      .slice(0, 6)
      .map(
        (e) =>
          `EXECUTE 'CREATE INDEX ${`${e.name}_name_trgm`} ON ${e.qualified.replace(/'/g, "''")} USING gin (name gin_trgm_ops)';`,
      );
    this.statements.push(`DO $$
BEGIN
  IF to_regtype('citext') IS NOT NULL THEN
    EXECUTE 'ALTER TABLE core.editor ALTER COLUMN email TYPE citext';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto') THEN
    EXECUTE 'ALTER TABLE core.editor ALTER COLUMN password_salt SET DEFAULT gen_random_bytes(16)';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_trgm') THEN
    ${trigram.join('\n    ')}
  END IF;
END $$`);
  }

  /** INSERTs of `rows` rows into `table`; `written` is what holds rows by then (else nullable references stay NULL). */
  insert(table, rows, written) {
    if (table.from) {
      const { source, column, conflict } = table.from;
      return `INSERT INTO ${table.qualified} (${quote(column)}) SELECT id FROM ${source.qualified} ON CONFLICT ${conflict}`;
    }
    const columns = [];
    const values = [];
    for (const c of table.columns) {
      if (c.ref) {
        if (!c.notNull && !written.has(c.ref)) continue;
        columns.push(c.name);
        // Several rows spread over the parent's rows; composite keys need distinct pairs.
        values.push(
          table.conflict === 'DO NOTHING'
            ? `(SELECT id FROM ${c.ref.qualified} ORDER BY id OFFSET (g - 1) % greatest((SELECT count(*) FROM ${c.ref.qualified}), 1) LIMIT 1)`
            : `(SELECT min(id) FROM ${c.ref.qualified})`,
        );
      } else if (c.fill) {
        columns.push(c.name);
        values.push(c.fill);
      }
    }
    const conflict = table.conflict ? ` ON CONFLICT ${table.conflict}` : '';
    const list = columns.length ? ` (${columns.map(quote).join(', ')})` : '';
    const select = columns.length ? values.join(', ') : '';
    const statements = [];
    if (table.selfRef) {
      // A root, then children pointing at it.
      statements.push(
        columns.length
          ? `INSERT INTO ${table.qualified}${list} SELECT ${select} FROM generate_series(1, 1) g${conflict}`
          : `INSERT INTO ${table.qualified} DEFAULT VALUES`,
      );
      const children = [...columns, table.selfRef].map(quote).join(', ');
      statements.push(
        `INSERT INTO ${table.qualified} (${children}) SELECT ${[...values, `(SELECT min(id) FROM ${table.qualified})`].join(', ')} FROM generate_series(2, ${rows}) g${conflict}`,
      );
    } else if (columns.length) {
      statements.push(
        `INSERT INTO ${table.qualified}${list} SELECT ${select} FROM generate_series(1, ${rows}) g${conflict}`,
      );
    } else {
      statements.push(`INSERT INTO ${table.qualified} DEFAULT VALUES`);
    }
    return statements.join(';\n');
  }

  dirtyRelated() {
    const written = new Set();
    const statements = [];
    for (const table of this.related) {
      statements.push(this.insert(table, 3, written));
      written.add(table);
    }
    return statements.join(';\n');
  }

  dirtyAll() {
    const written = new Set();
    const statements = [];
    for (const table of this.tables) {
      statements.push(this.insert(table, 3, written));
      written.add(table);
    }
    return statements.join(';\n');
  }
}

/**
 * The shape of the database `client` is connected to, read from pg_catalog
 * (not from the generator): application tables as pgwork sees them (ordinary
 * and partitioned tables outside the system schemas, partitions and
 * extensions' tables aside), and what hangs off them.
 */
export async function catalogShape(client) {
  const { rows } = await client.query(`
WITH app AS (
  SELECT c.oid, c.relnamespace, c.relkind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
), parts AS (
  SELECT p.relid AS oid FROM app a, pg_catalog.pg_partition_tree(a.oid) p WHERE a.relkind = 'p' AND p.relid <> a.oid
), fks AS (
  SELECT k.conrelid, k.confrelid, k.confdeltype FROM pg_catalog.pg_constraint k
  WHERE k.contype = 'f' AND k.conrelid IN (SELECT oid FROM app)
), triggers AS (
  SELECT g.tgrelid FROM pg_catalog.pg_trigger g WHERE NOT g.tgisinternal AND g.tgrelid IN (SELECT oid FROM app)
)
SELECT json_build_object(
  'tables', (SELECT count(*) FROM app),
  'schemas', (SELECT count(DISTINCT relnamespace) FROM app),
  'partitioned', (SELECT count(*) FROM app WHERE relkind = 'p'),
  'partitions', (SELECT count(*) FROM parts),
  'indexes', (SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM app)),
  'partitionIndexes', (SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM parts)),
  'foreignKeys', (SELECT count(*) FROM fks),
  'onDelete', (SELECT json_object_agg(action, n) FROM (
      SELECT CASE confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
        WHEN 'n' THEN 'set null' ELSE 'set default' END AS action, count(*) AS n
      FROM fks GROUP BY 1) x),
  'selfReferencing', (SELECT count(DISTINCT conrelid) FROM fks WHERE conrelid = confrelid),
  'triggers', (SELECT count(*) FROM triggers),
  'tablesWithTriggers', (SELECT count(DISTINCT tgrelid) FROM triggers),
  'sequences', (SELECT count(*) FROM pg_catalog.pg_class s JOIN pg_catalog.pg_depend d
      ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
      WHERE s.relkind = 'S' AND d.refobjid IN (SELECT oid FROM app)),
  'extensions', (SELECT coalesce(json_agg(extname ORDER BY extname), '[]') FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql')
) AS shape`);
  return rows[0].shape;
}

/** One line of it, for people. */
export function describeShape(s) {
  const perTable = (n) => (n / s.tables).toFixed(1);
  const pct = (n) => Math.round((n / s.tables) * 100);
  const actions = Object.entries(s.onDelete ?? {})
    .sort(([, a], [, b]) => b - a)
    .map(([action, n]) => `${n} ${action}`)
    .join(', ');
  return (
    `${s.tables} tables in ${s.schemas} schemas (${s.partitioned} partitioned, with ${s.partitions} partitions), ` +
    `${s.indexes} indexes (${perTable(s.indexes)}/table; ${s.partitionIndexes} more on partitions), ` +
    `${s.foreignKeys} foreign keys (${perTable(s.foreignKeys)}/table; ON DELETE ${actions}), ` +
    `${s.selfReferencing} self-referencing tables (${pct(s.selfReferencing)}%), ` +
    `${s.triggers} triggers on ${s.tablesWithTriggers} tables (${pct(s.tablesWithTriggers)}%), ` +
    `${s.sequences} sequences, extensions: ${s.extensions.length ? s.extensions.join(', ') : 'none available'}`
  );
}
