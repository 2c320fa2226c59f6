-- artifacts catalog, version 4: how many file names contain each trigram, so `find` asks the
-- trigram index for a pattern's rarest trigrams instead of all of them. A trigram in 60,000
-- names ("for", "png") costs more to read from the index than the few names a pattern like
-- forecast_4242 matches; any subset of a pattern's trigrams finds every match, and the name
-- itself is checked after. Keys are lower-cased as SQLite's lower() does (ASCII only); the
-- counts only steer the choice, never decide a match.
CREATE TABLE name_trigram (
  trigram TEXT PRIMARY KEY,
  files INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER name_trigram_insert AFTER INSERT ON container_file BEGIN
  INSERT INTO name_trigram (trigram, files)
    WITH RECURSIVE position(n) AS (
      SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < length(new.filename) - 2)
    SELECT DISTINCT substr(lower(new.filename), n, 3), 1 FROM position WHERE length(new.filename) >= 3
  ON CONFLICT (trigram) DO UPDATE SET files = files + 1;
END;

CREATE TRIGGER name_trigram_delete AFTER DELETE ON container_file BEGIN
  UPDATE name_trigram SET files = files - 1 WHERE trigram IN (
    WITH RECURSIVE position(n) AS (
      SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < length(old.filename) - 2)
    SELECT substr(lower(old.filename), n, 3) FROM position WHERE length(old.filename) >= 3);
  DELETE FROM name_trigram WHERE files <= 0;
END;

CREATE TRIGGER name_trigram_update AFTER UPDATE OF filename ON container_file BEGIN
  UPDATE name_trigram SET files = files - 1 WHERE trigram IN (
    WITH RECURSIVE position(n) AS (
      SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < length(old.filename) - 2)
    SELECT substr(lower(old.filename), n, 3) FROM position WHERE length(old.filename) >= 3);
  DELETE FROM name_trigram WHERE files <= 0;
  INSERT INTO name_trigram (trigram, files)
    WITH RECURSIVE position(n) AS (
      SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < length(new.filename) - 2)
    SELECT DISTINCT substr(lower(new.filename), n, 3), 1 FROM position WHERE length(new.filename) >= 3
  ON CONFLICT (trigram) DO UPDATE SET files = files + 1;
END;

-- The names already in the catalog.
INSERT INTO name_trigram (trigram, files)
  SELECT trigram, count(*) FROM (
    WITH RECURSIVE position(id, filename, n) AS (
      SELECT id, lower(filename), 1 FROM container_file WHERE length(filename) >= 3
      UNION ALL
      SELECT id, filename, n + 1 FROM position WHERE n < length(filename) - 2)
    SELECT DISTINCT id, substr(filename, n, 3) AS trigram FROM position)
  GROUP BY trigram;
