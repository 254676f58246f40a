-- Acting on results (issue 11): a durable outbox. A call's actions are written with its result
-- in one transaction, one row each (its place among the call's actions makes it unique), and a
-- worker carries them out: SMS through SMSC, copying the contact to another project, putting
-- the number on the stop list, webhooks. Every attempt is logged. Times in unix milliseconds.
--
-- status:
--   queued     waiting for its turn (`next_at`): the first try or a retry
--   sending    claimed by the worker; an outside request may be in flight. After a crash an SMS
--              in this state is first looked up at SMSC (never sent twice); a webhook is sent
--              again with the same Idempotency-Key; database actions simply run again (they
--              commit together with their status).
--   sent       an SMS SMSC accepted; its delivery is polled (`next_at`)
--   delivered  an SMS delivered (final)
--   done       an action carried out (final): copied, listed, webhook answered 2xx
--   failed     failed for good, or given up after `give_up_at` (final; `last_error` says why)
CREATE TABLE actions (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER NOT NULL REFERENCES calls(id),
    idx           INTEGER NOT NULL,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    kind          TEXT NOT NULL CHECK (kind IN ('sms', 'add_to_project', 'stop_list', 'webhook')),
    payload       TEXT NOT NULL,            -- JSON: all the action needs, resolved at the call's end
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    give_up_at    INTEGER NOT NULL,
    last_error    TEXT,
    cost          REAL,                     -- roubles, as SMSC answered
    parts         INTEGER,                  -- SMS parts billed
    external_id   TEXT,                     -- SMSC's id, the copied contact's id, the HTTP status
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER,
    delivered_at  INTEGER,
    done_at       INTEGER,
    UNIQUE (call_id, idx)
);
-- The worker's walks: due rows in time order, to carry out and (SMS) to poll for delivery.
CREATE INDEX actions_queued ON actions(next_at) WHERE status = 'queued';
CREATE INDEX actions_sent ON actions(next_at) WHERE status = 'sent';
-- Crash recovery: what was being carried out.
CREATE INDEX actions_sending ON actions(status) WHERE status = 'sending';
CREATE INDEX actions_project ON actions(project_id, id);
CREATE INDEX actions_project_kind ON actions(project_id, kind, status);

-- One line per attempt: when, what came of it, the outside answer.
CREATE TABLE action_attempts (
    id           INTEGER PRIMARY KEY,
    action_id    INTEGER NOT NULL REFERENCES actions(id),
    at           INTEGER NOT NULL,
    outcome      TEXT NOT NULL,             -- sent, delivered, done, retry, failed, held, checked
    http_status  INTEGER,
    error        TEXT,
    duration_ms  INTEGER
);
CREATE INDEX action_attempts_action ON action_attempts(action_id, id);

-- Where a copied contact came from (add_to_project, callback projects).
ALTER TABLE contacts ADD COLUMN source_project_id INTEGER;
ALTER TABLE contacts ADD COLUMN source_call_id INTEGER;

-- Webhooks per project: where a call's final JSON is posted, and the secret it is signed with.
ALTER TABLE projects ADD COLUMN webhook_url TEXT;
ALTER TABLE projects ADD COLUMN webhook_secret TEXT;
