-- The web UI's calls page and call timeline (docs/users.md, "Calls").

-- What happened when inside an answered call, for its timeline: the prompts played, keys and
-- utterances, when the result was set and a transfer began, in ms since the answer (the
-- recording's time). JSON (`call::Timeline`); NULL for calls not answered and older calls.
ALTER TABLE calls ADD COLUMN timeline TEXT;

-- The calls page walks one of these newest first and stops at its page size: a number's
-- calls, one result's calls over all projects; and turns dates into an id range (ids grow
-- with start times) through the start times.
CREATE INDEX calls_number ON calls(number, id);
CREATE INDEX calls_result_newest ON calls(result, id);
CREATE INDEX calls_started ON calls(started_at);

-- Pages stay fast on big data (issue 17: ≤ 150 ms with 1M calls and 1M contacts). The
-- projects page and a project's page show contacts by status and calls by result with their
-- cost; counting a million rows for that took ~0.5 s a project. These tallies are kept by
-- triggers, so every write — imports, the dialer, copies, deletes — keeps them right in its
-- own transaction, and a page reads a few rows.

-- Contacts by status per project; a contact parked for a call (`next_at` = i64::MAX) counts
-- as `in_call` instead of its status.
CREATE TABLE contact_tallies (
    project_id  INTEGER NOT NULL,
    status      TEXT NOT NULL,            -- a contact status, or 'in_call'
    n           INTEGER NOT NULL,
    PRIMARY KEY (project_id, status)
) WITHOUT ROWID;
INSERT INTO contact_tallies (project_id, status, n)
    SELECT project_id, CASE WHEN next_at IS 9223372036854775807 THEN 'in_call' ELSE status END,
           COUNT(*)
    FROM contacts GROUP BY 1, 2;

CREATE TRIGGER contact_tallies_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contact_tallies (project_id, status, n)
    VALUES (NEW.project_id,
            CASE WHEN NEW.next_at IS 9223372036854775807 THEN 'in_call' ELSE NEW.status END, 1)
    ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER contact_tallies_delete AFTER DELETE ON contacts BEGIN
    UPDATE contact_tallies SET n = n - 1
    WHERE project_id = OLD.project_id
      AND status = CASE WHEN OLD.next_at IS 9223372036854775807 THEN 'in_call' ELSE OLD.status END;
END;
-- Only a change that moves the contact between tallies runs it (the dialer rewrites a
-- contact's plan at every call; most of those leave its tally as it was).
CREATE TRIGGER contact_tallies_update AFTER UPDATE OF project_id, status, next_at ON contacts
WHEN OLD.project_id IS NOT NEW.project_id OR OLD.status IS NOT NEW.status
  OR (OLD.next_at IS 9223372036854775807) IS NOT (NEW.next_at IS 9223372036854775807)
BEGIN
    UPDATE contact_tallies SET n = n - 1
    WHERE project_id = OLD.project_id
      AND status = CASE WHEN OLD.next_at IS 9223372036854775807 THEN 'in_call' ELSE OLD.status END;
    INSERT INTO contact_tallies (project_id, status, n)
    VALUES (NEW.project_id,
            CASE WHEN NEW.next_at IS 9223372036854775807 THEN 'in_call' ELSE NEW.status END, 1)
    ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
END;

-- Finished calls by result per project, with their cost ('' for a finished call without a
-- result).
CREATE TABLE call_tallies (
    project_id  INTEGER NOT NULL,
    result      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    cost_kop    INTEGER NOT NULL,
    PRIMARY KEY (project_id, result)
) WITHOUT ROWID;
INSERT INTO call_tallies (project_id, result, n, cost_kop)
    SELECT project_id, COALESCE(result, ''), COUNT(*), COALESCE(SUM(cost_kop), 0)
    FROM calls WHERE state = 'done' GROUP BY 1, 2;

CREATE TRIGGER call_tallies_insert AFTER INSERT ON calls WHEN NEW.state = 'done' BEGIN
    INSERT INTO call_tallies (project_id, result, n, cost_kop)
    VALUES (NEW.project_id, COALESCE(NEW.result, ''), 1, NEW.cost_kop)
    ON CONFLICT (project_id, result) DO UPDATE
        SET n = n + 1, cost_kop = cost_kop + excluded.cost_kop;
END;
CREATE TRIGGER call_tallies_delete AFTER DELETE ON calls WHEN OLD.state = 'done' BEGIN
    UPDATE call_tallies SET n = n - 1, cost_kop = cost_kop - OLD.cost_kop
    WHERE project_id = OLD.project_id AND result = COALESCE(OLD.result, '');
END;
CREATE TRIGGER call_tallies_update AFTER UPDATE OF project_id, state, result, cost_kop ON calls
WHEN OLD.state = 'done' OR NEW.state = 'done'
BEGIN
    UPDATE call_tallies SET n = n - 1, cost_kop = cost_kop - OLD.cost_kop
    WHERE OLD.state = 'done' AND project_id = OLD.project_id
      AND result = COALESCE(OLD.result, '');
    INSERT INTO call_tallies (project_id, result, n, cost_kop)
    SELECT NEW.project_id, COALESCE(NEW.result, ''), 1, NEW.cost_kop WHERE NEW.state = 'done'
    ON CONFLICT (project_id, result) DO UPDATE
        SET n = n + 1, cost_kop = cost_kop + excluded.cost_kop;
END;

-- Today's calls and cost of a project (the projects page): its calls since midnight, read
-- from the index alone (it replaces `calls_project`, of which it is an extension).
DROP INDEX calls_project;
CREATE INDEX calls_project_day ON calls(project_id, started_at, cost_kop);

-- A project's actions by kind and state with their cost (its page): from the index alone.
DROP INDEX actions_project_kind;
CREATE INDEX actions_project_kind ON actions(project_id, kind, status, cost_kop, external_id);
