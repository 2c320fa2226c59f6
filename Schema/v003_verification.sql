-- artifacts catalog, version 3: when each blob was last re-hashed by `check --read-data`, so a
-- check with a budget verifies the least recently verified blobs first and resumes there.
ALTER TABLE blob ADD COLUMN last_verified_at TEXT;
CREATE INDEX blob_by_verification ON blob(last_verified_at);

-- Work claimed by a running sync, so concurrent runs never download a file twice. The owner is
-- the run's temporary area (tmp/<owner>/), whose lock the run holds while it lives: a lease of
-- a run that died is free at once.
ALTER TABLE container_file ADD COLUMN lease_owner TEXT;
