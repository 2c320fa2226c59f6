-- artifacts catalog, version 3: when each blob was last re-hashed by `check --read-data`, so a
-- check with a budget verifies the least recently verified blobs first and resumes there.
ALTER TABLE blob ADD COLUMN last_verified_at TEXT;
CREATE INDEX blob_by_verification ON blob(last_verified_at);
