-- artifacts catalog, version 5: work claims that lapse by themselves, and typed reasons.
-- A claim is a lease: `lease_owner` holds the file until `lease_expires_at`, renewed while its
-- transfer runs, so a run that dies (on this machine or another sharing the catalog) frees its
-- files when the lease runs out. Why a file is lost or failed is kept as a kind beside the message.
ALTER TABLE container_file ADD COLUMN lease_expires_at TEXT;
ALTER TABLE container_file ADD COLUMN last_error_kind TEXT
  CHECK (last_error_kind IN ('container_expired', 'container_not_found', 'file_not_found', 'damaged', 'rejected',
    'gave_up', 'transport', 'storage'));

DROP VIEW unarchived_file;
CREATE VIEW unarchived_file AS
SELECT filename, container_id, file_id, state, attempts, last_error_kind AS reason, last_error
FROM container_file WHERE state IN ('lost', 'failed', 'pending');
