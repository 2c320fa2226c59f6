-- artifacts catalog, version 7: fewer writes for each file recorded and archived.
--
-- name_trigram is counted by the code that inserts files, once per batch, instead of by a
-- trigger per inserted row. The trigger upserted every trigram of every new name one at a
-- time (about 20 statements per file): 15-20 µs a file, most of what recording a citation
-- cost. Recording, listing and importing now add the counts of all the names they inserted
-- in one upsert per distinct trigram (Catalog.countNameTrigrams), with the same keys
-- (SQLite's lower(), ASCII only; up to the first NUL, as length() counts). Renames and
-- deletes keep their triggers: they are rare. Rows inserted by other tools are not counted;
-- the counts only steer which trigrams find asks the index for, never a match.
DROP TRIGGER name_trigram_insert;

-- Archiving a file changes its produced_at only when no citing response has a time: the
-- latest response otherwise decides, and archiving does not move it. v006's trigger rewrote
-- produced_at (and so its index entry) for every file archived, a random page of the index
-- per file; now the row is touched only when the value changes.
DROP TRIGGER produced_at_on_archive;
CREATE TRIGGER produced_at_on_archive AFTER UPDATE OF archived_at ON container_file
WHEN OLD.archived_at IS NOT NEW.archived_at BEGIN
  UPDATE container_file SET produced_at = coalesce(CAST(strftime('%s', NEW.archived_at) AS INTEGER), 0)
  WHERE id = NEW.id
    AND produced_at IS NOT coalesce(CAST(strftime('%s', NEW.archived_at) AS INTEGER), 0)
    AND NOT EXISTS (
      SELECT 1 FROM citation c JOIN response r ON r.id = c.response_id
      WHERE c.container_file_id = NEW.id AND r.created_at IS NOT NULL);
END;
