CREATE TABLE clicks (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url_id integer NOT NULL REFERENCES urls (id) ON DELETE CASCADE,
  clicked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clicks_url_id_idx ON clicks (url_id);
