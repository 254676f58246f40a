-- What `autoinformer serve` adds (issue 4): API tokens, and indexes for the report routes.
-- (0003 is left to the store's own changes.)

-- Bearer tokens for the API. Only a SHA-256 of each token is kept: a stolen database file
-- does not give API access. The first admin token comes from AUTOINFORMER_ADMIN_TOKEN or is
-- generated and printed once.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,     -- hex of SHA-256(token)
    role        TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin')),
    created_at  INTEGER NOT NULL
);

-- `GET /calls` lists newest first (ids grow with start time) within a project, optionally by
-- result; these walk in that order and stop at the page size.
CREATE INDEX calls_project_newest ON calls(project_id, id);
CREATE INDEX calls_project_result ON calls(project_id, result, id);
-- Last results: the newest call of each contact.
CREATE INDEX calls_contact_newest ON calls(contact_id, id);
-- Stats read only these columns of a project's finished calls: covered, no table lookups.
CREATE INDEX calls_stats ON calls(project_id, state, result, cost);
-- Last results and contact exports page through a project's contacts in id order, all of
-- them or those of one status.
CREATE INDEX contacts_project_order ON contacts(project_id, id);
CREATE INDEX contacts_status_order ON contacts(project_id, status, id);
