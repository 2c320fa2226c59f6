-- artifacts catalog, version 1. Never edit this file once released: add v002_….sql instead.
-- Times are ISO-8601 UTC text ('2026-11-26T03:31:00.000Z') unless a column says otherwise.

-- One row per distinct content in blobs/sha256/.
CREATE TABLE blob (
  digest TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'),
  size INTEGER NOT NULL CHECK (size >= 0),
  media_type TEXT NOT NULL,
  first_stored_at TEXT NOT NULL
);

-- Containers seen in logs (cited, or named by a code_interpreter_call).
CREATE TABLE container (
  id TEXT PRIMARY KEY NOT NULL,
  first_seen_at TEXT NOT NULL,
  -- Earliest moment the container may be gone: its first citing response's created_at + 20 min,
  -- refined by the API when probed.
  deadline_estimate TEXT,
  last_probe_at TEXT,
  status TEXT
);

-- Log files read, and how far: an unchanged log costs one stat.
CREATE TABLE log_file (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  device INTEGER,
  inode INTEGER,
  size INTEGER,
  mtime_ns INTEGER,
  head_fingerprint TEXT,
  bytes_consumed INTEGER NOT NULL DEFAULT 0,
  format TEXT,
  last_scanned_at TEXT
);

-- The work item and the archive entry: one row per (container, file).
CREATE TABLE container_file (
  id INTEGER PRIMARY KEY,
  container_id TEXT NOT NULL REFERENCES container(id),
  file_id TEXT NOT NULL,
  -- The cited (or listed) name: untrusted text, never a path in the store.
  filename TEXT NOT NULL,
  container_path TEXT,
  -- 'cited' (an annotation names it), 'uncited' (found by listing), 'log' (bytes inside a log)
  source TEXT NOT NULL DEFAULT 'cited',
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'archived', 'lost', 'failed')),
  digest TEXT REFERENCES blob(digest),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  first_seen_at TEXT NOT NULL,
  archived_at TEXT,
  UNIQUE (container_id, file_id),
  CHECK ((state = 'archived') = (digest IS NOT NULL))
);
CREATE INDEX container_file_by_state ON container_file(state);
CREATE INDEX container_file_by_digest ON container_file(digest);

CREATE TABLE response (
  id TEXT PRIMARY KEY NOT NULL,
  created_at INTEGER, -- Unix seconds, as the API reports it
  model TEXT,
  status TEXT,
  previous_response_id TEXT,
  log_file_id INTEGER REFERENCES log_file(id),
  line INTEGER
);

-- One row per container_file_citation annotation.
CREATE TABLE citation (
  id INTEGER PRIMARY KEY,
  -- Identifies the annotation (response, item, content and annotation index, ids) so repeats
  -- from stream events and re-logged responses are stored once.
  citation_key TEXT NOT NULL UNIQUE,
  container_file_id INTEGER NOT NULL REFERENCES container_file(id),
  response_id TEXT REFERENCES response(id),
  item_id TEXT,
  output_index INTEGER,
  content_index INTEGER,
  annotation_index INTEGER,
  filename TEXT NOT NULL,
  start_index INTEGER NOT NULL,
  end_index INTEGER NOT NULL,
  cited_text TEXT,
  log_file_id INTEGER REFERENCES log_file(id),
  line INTEGER
);
CREATE INDEX citation_by_file ON citation(container_file_id);
CREATE INDEX citation_by_response ON citation(response_id);

-- code_interpreter_call items: containers that existed, cited or not.
CREATE TABLE container_sighting (
  id INTEGER PRIMARY KEY,
  sighting_key TEXT NOT NULL UNIQUE,
  container_id TEXT NOT NULL REFERENCES container(id),
  call_id TEXT,
  response_id TEXT REFERENCES response(id),
  log_file_id INTEGER REFERENCES log_file(id),
  line INTEGER
);

-- Substring search on names: a trigram index answers LIKE '%chart%' without a table scan.
CREATE VIRTUAL TABLE container_file_name USING fts5(
  filename, content = 'container_file', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER container_file_name_insert AFTER INSERT ON container_file BEGIN
  INSERT INTO container_file_name(rowid, filename) VALUES (new.id, new.filename);
END;
CREATE TRIGGER container_file_name_delete AFTER DELETE ON container_file BEGIN
  INSERT INTO container_file_name(container_file_name, rowid, filename) VALUES ('delete', old.id, old.filename);
END;
CREATE TRIGGER container_file_name_update AFTER UPDATE OF filename ON container_file BEGIN
  INSERT INTO container_file_name(container_file_name, rowid, filename) VALUES ('delete', old.id, old.filename);
  INSERT INTO container_file_name(rowid, filename) VALUES (new.id, new.filename);
END;

-- Readable views for sqlite3 and Datasette users.

-- Every archived file with its bytes and the latest response that cited it.
CREATE VIEW archived_file AS
SELECT
  f.filename, f.container_id, f.file_id, f.digest AS sha256, b.size, b.media_type, f.source, f.archived_at,
  (SELECT c.response_id FROM citation c LEFT JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = f.id ORDER BY r.created_at DESC, c.id DESC LIMIT 1) AS latest_response_id
FROM container_file f JOIN blob b ON b.digest = f.digest
WHERE f.state = 'archived';

-- Every citation with the response and log line it was read from.
CREATE VIEW citation_detail AS
SELECT
  c.filename, f.container_id, f.file_id, f.state, c.response_id, r.model,
  datetime(r.created_at, 'unixepoch') AS response_created, c.cited_text, l.path AS log_path, c.line AS log_line
FROM citation c
JOIN container_file f ON f.id = c.container_file_id
LEFT JOIN response r ON r.id = c.response_id
LEFT JOIN log_file l ON l.id = c.log_file_id;

-- Files that could not be archived, and why.
CREATE VIEW unarchived_file AS
SELECT filename, container_id, file_id, state, attempts, last_error
FROM container_file WHERE state IN ('lost', 'failed', 'pending');
