-- artifacts catalog, version 7: name_trigram is counted by the code that inserts files, once
-- per batch, instead of by a trigger per inserted row. The trigger upserted every trigram of
-- every new name one at a time (about 20 statements per file): 15-20 µs a file, most of what
-- recording a citation cost. Recording, listing and importing now add the counts of all the
-- names they inserted in one upsert per distinct trigram (Catalog.countNameTrigrams), with the
-- same keys (SQLite's lower(), ASCII only; up to the first NUL, as length() counts). Renames
-- and deletes keep their triggers: they are rare. Rows inserted by other tools are not
-- counted; the counts only steer which trigrams find asks the index for, never a match.
DROP TRIGGER name_trigram_insert;
