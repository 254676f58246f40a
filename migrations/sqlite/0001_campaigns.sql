-- Campaigns: scenarios, prompts, projects, contacts and their numbers, calls, the dialer's
-- decision log and the stop list (issue 4). Times are unix seconds (UTC).

CREATE TABLE scenarios (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,            -- the scenario as TOML
    created_at  INTEGER NOT NULL
);

CREATE TABLE prompts (
    name        TEXT PRIMARY KEY,
    data        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE projects (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    scenario_id           INTEGER NOT NULL REFERENCES scenarios(id),
    status                TEXT NOT NULL DEFAULT 'draft'
                          CHECK (status IN ('draft', 'active', 'paused', 'finished')),
    time_zone             TEXT NOT NULL DEFAULT 'Europe/Moscow',
    schedule              TEXT NOT NULL,  -- JSON list of window texts ("mon-fri 09:00-21:00")
    lines                 INTEGER NOT NULL DEFAULT 10 CHECK (lines > 0),
    max_calls_per_number  INTEGER NOT NULL DEFAULT 2 CHECK (max_calls_per_number IN (1, 2)),
    retry_rules           TEXT NOT NULL,  -- JSON {result: {attempts, interval_s}}
    ordering              TEXT NOT NULL,  -- JSON list of order options
    callback_project_id   INTEGER REFERENCES projects(id),
    tariff                TEXT NOT NULL,  -- JSON
    created_at            INTEGER NOT NULL
);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    seq         INTEGER NOT NULL,         -- import order
    name        TEXT,
    fields      TEXT NOT NULL DEFAULT '{}',
    priority    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'not_called'
                CHECK (status IN ('not_called', 'retry', 'reached', 'not_reached')),
    attempts    TEXT,                     -- JSON attempt state per number
    next_at     INTEGER,                  -- not before (unix s); NULL when closed
    created_at  INTEGER NOT NULL
);
CREATE INDEX contacts_due ON contacts(project_id, status, next_at);

CREATE TABLE contact_numbers (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    idx         INTEGER NOT NULL,         -- order within the contact
    e164        TEXT NOT NULL,
    time_zone   TEXT,                     -- the callee's zone where the region is known
    UNIQUE (project_id, e164)
);
CREATE INDEX contact_numbers_contact ON contact_numbers(contact_id, idx);

CREATE TABLE calls (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    number        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'dialing' CHECK (state IN ('dialing', 'done')),
    started_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER,
    sip_status    INTEGER,
    result        TEXT,
    reaction      TEXT,                   -- key or transcript
    transcript    TEXT,
    captured      TEXT,                   -- JSON
    amd_verdict   TEXT,
    amd_reason    TEXT,
    amd_ms        INTEGER,
    recording     TEXT,
    cost          REAL NOT NULL DEFAULT 0
);
CREATE INDEX calls_project ON calls(project_id, started_at);
CREATE INDEX calls_contact ON calls(contact_id, started_at);
CREATE INDEX calls_in_flight ON calls(state) WHERE state = 'dialing';

CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    project_id  INTEGER NOT NULL,
    contact_id  INTEGER,
    number      TEXT,
    decision    TEXT NOT NULL,            -- dial / skip / close
    reason      TEXT NOT NULL
);

CREATE TABLE stop_list (
    e164        TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    added_at    INTEGER NOT NULL
);
