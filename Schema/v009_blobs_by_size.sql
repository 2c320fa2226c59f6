-- artifacts catalog, version 9: blobs indexed by size, for the largest files first.
--
-- `find --sort size --limit N` and the gallery sorted by size looked up the blob of every
-- archived file and sorted them all: 2 s for the first page of 1,000,000 files. With this
-- index a page of all archived files walks the blobs from the largest down and stops at the
-- limit (8 ms). A new blob costs one more small index entry.
CREATE INDEX blob_by_size ON blob(size DESC);
