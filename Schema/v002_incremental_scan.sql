-- artifacts catalog, version 2: incremental scanning of logs.
-- Where an appended JSON Lines log resumes: the line number after the last complete record,
-- and the response a stream of events belongs to (its later events do not name it).
ALTER TABLE log_file ADD COLUMN lines_consumed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE log_file ADD COLUMN stream_response TEXT; -- JSON: {"id", "createdAt", "model", "status"}
ALTER TABLE log_file ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0;
