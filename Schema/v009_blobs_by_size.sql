-- artifacts catalog, version 9: blobs indexed by size, for the largest files first.
--
-- `find --sort size --limit N` and the gallery sorted by size looked up the blob of every
-- archived file and sorted them all: 0.8-1.1 s for the first 20 of 1,000,000 files. With
-- this index a page of all archived files walks the blobs from the largest down and stops at
-- the limit (0.017 s, the whole command). A new blob costs one more small index entry.
CREATE INDEX blob_by_size ON blob(size DESC);
