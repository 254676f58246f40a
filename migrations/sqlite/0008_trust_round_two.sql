-- Trust, round two (issue 15).
--
-- Every write of a contact's plan is guarded by the state it read: `version` grows with each
-- change of the plan (parking it for a call, holding it, making it ready, a new plan), and a
-- plan computed from version N is written only while the row is still at N. A contact parked
-- for a call (next_at = i64::MAX) is only ever changed by the end of that call.
ALTER TABLE contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- A contact row that cannot be read (its attempts or fields are not valid JSON) is closed and
-- set aside with the reason here, instead of stopping the dialer for every project.
ALTER TABLE contacts ADD COLUMN damaged TEXT;
ALTER TABLE contacts ADD COLUMN damaged_at INTEGER;   -- unix s

-- Why a project is in its status when the robot put it there (a scenario that no longer
-- loads, a schedule that does not parse: paused, freeing the active slot).
ALTER TABLE projects ADD COLUMN status_reason TEXT;

-- What the scenario decided, written the moment it decided it (the call goes on): the call's
-- `result`, `reaction` and `captured` are set while it is still `dialing`, with its actions in
-- the outbox, and `decided_at_ms` says when. A stop before the end keeps them.
ALTER TABLE calls ADD COLUMN decided_at_ms INTEGER;

-- The per-project decision log page, and one contact's decisions, walk these.
CREATE INDEX decisions_project ON decisions(project_id, id);
CREATE INDEX decisions_contact ON decisions(contact_id, id);

-- One value per installation, made at first start: the prefix of the ids given to SMSC, so
-- that a reset database or a second install on the same SMSC login never looks up someone
-- else's message; and the server-wide webhook secret (webhooks of projects without their own).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- A webhook's body, fixed at its first attempt: retries send the same bytes.
ALTER TABLE actions ADD COLUMN body TEXT;

-- A receiver that answered 410 Gone asked for no more deliveries (the Standard Webhooks
-- meaning): later webhooks to the same address fail at once, until a retry through the API
-- (`POST /api/v1/actions/{id}/retry`) or a new `webhook_url` clears it.
CREATE TABLE webhook_gone (
    url        TEXT PRIMARY KEY,
    at         INTEGER NOT NULL,          -- unix ms
    action_id  INTEGER NOT NULL
);

-- Money as whole kopecks (exact sums: a sum of REAL roubles printed 1.3599999999999999).
ALTER TABLE calls ADD COLUMN cost_kop INTEGER NOT NULL DEFAULT 0;
UPDATE calls SET cost_kop = CAST(ROUND(cost * 100) AS INTEGER);
DROP INDEX calls_stats;
ALTER TABLE calls DROP COLUMN cost;
CREATE INDEX calls_stats ON calls(project_id, state, result, cost_kop);
ALTER TABLE actions ADD COLUMN cost_kop INTEGER;
UPDATE actions SET cost_kop = CAST(ROUND(cost * 100) AS INTEGER) WHERE cost IS NOT NULL;
ALTER TABLE actions DROP COLUMN cost;
