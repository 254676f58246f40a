-- Imports: every contact import is registered while it runs, so that
--  * a whole-file failure (the size limit hit while streaming, an I/O error, a database error)
--    removes exactly the contacts that import added: nothing is partially applied;
--  * contacts of an import still running are not dialed yet (the dialer would otherwise call
--    rows that may be removed again);
--  * an import interrupted by a crash is removed when the store opens next.
-- One import at a time per project (the partial unique index), so imports into one project
-- never merge numbers into each other's unfinished contacts.
CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id),
    state        TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    imported     INTEGER,                 -- the report, once done
    duplicates   INTEGER,
    rejected     INTEGER
);
CREATE UNIQUE INDEX imports_running ON imports(project_id) WHERE state = 'running';

-- The import a contact came from; NULL for contacts imported before this migration.
ALTER TABLE contacts ADD COLUMN import_id INTEGER REFERENCES imports(id);
