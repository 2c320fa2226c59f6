-- artifacts catalog, version 6: when each file was produced, kept on its row and indexed, so
-- "newest first" (find --sort newest, the web gallery) reads the first page of a million files
-- from an index instead of computing every file's latest citation.
-- produced_at: Unix seconds of the latest citing response, else of the archiving, else 0.
-- Triggers keep it true whichever code path writes citations, responses or archivings.
ALTER TABLE container_file ADD COLUMN produced_at INTEGER NOT NULL DEFAULT 0;

UPDATE container_file SET produced_at = coalesce(
  (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
   WHERE c.container_file_id = container_file.id),
  CAST(strftime('%s', archived_at) AS INTEGER), 0);

CREATE INDEX container_file_by_produced_at ON container_file(produced_at DESC, filename, container_id, file_id);

CREATE TRIGGER produced_at_on_citation_insert AFTER INSERT ON citation BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id = NEW.container_file_id;
END;

CREATE TRIGGER produced_at_on_citation_delete AFTER DELETE ON citation BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id = OLD.container_file_id;
END;

CREATE TRIGGER produced_at_on_citation_update AFTER UPDATE OF container_file_id, response_id ON citation BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id IN (OLD.container_file_id, NEW.container_file_id);
END;

CREATE TRIGGER produced_at_on_response_insert AFTER INSERT ON response WHEN NEW.created_at IS NOT NULL BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id IN (SELECT container_file_id FROM citation WHERE response_id = NEW.id);
END;

CREATE TRIGGER produced_at_on_response_update AFTER UPDATE OF created_at ON response
WHEN OLD.created_at IS NOT NEW.created_at BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id IN (SELECT container_file_id FROM citation WHERE response_id = NEW.id);
END;

-- Rows written whole (import, tools) get their time when they are inserted.
CREATE TRIGGER produced_at_on_file_insert AFTER INSERT ON container_file WHEN NEW.archived_at IS NOT NULL BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id = NEW.id;
END;

CREATE TRIGGER produced_at_on_archive AFTER UPDATE OF archived_at ON container_file
WHEN OLD.archived_at IS NOT NEW.archived_at BEGIN
  UPDATE container_file SET produced_at = coalesce(
    (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
     WHERE c.container_file_id = container_file.id),
    CAST(strftime('%s', archived_at) AS INTEGER), 0)
  WHERE id = NEW.id;
END;
