-- An import's progress and every value it refused (docs/users.md, "Import"). While an import
-- runs, its figures are written with each batch it stores (one UPDATE per batch of up to 5,000
-- contacts or of refused values, or a second's worth — never per row), so a page can show how
-- far it is; once it ends they are its report. The answer of the import lists only the first
-- problems; every refused value is kept here, written in the same transactions as the batches,
-- up to a cap per import (import::MAX_KEPT_REJECTS), so the whole list can be downloaded.
-- Only the newest import of a project keeps its list: a new import into the project removes
-- the older ones' lists.
ALTER TABLE imports ADD COLUMN rows_read   INTEGER NOT NULL DEFAULT 0;  -- data rows read so far
ALTER TABLE imports ADD COLUMN bytes_read  INTEGER NOT NULL DEFAULT 0;  -- of the file, so far
ALTER TABLE imports ADD COLUMN bytes_total INTEGER;                     -- the upload's size, if told
ALTER TABLE imports ADD COLUMN error       TEXT;                        -- why a failed import failed

CREATE TABLE import_rejects (
    import_id  INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,   -- file order
    row        INTEGER NOT NULL,   -- as a spreadsheet shows it (the header is row 1)
    value      TEXT NOT NULL,      -- as the file has it, cut to 80 characters
    kind       TEXT NOT NULL,      -- rejected_by_reason's key
    reason     TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
) WITHOUT ROWID;
